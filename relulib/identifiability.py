"""Identifiability of ReLU networks: sign flips, exact equality, closed-form L2 distance.

ATV21 (Awasthi, Tang, Vijayaraghavan, NeurIPS 2021), Section 3 and Section 4:

* **Theorem 3.4** identifies ``(a_i, xi_i b_i, xi_i w_i)`` up to the signs
  ``xi_i`` when no two ``w_i`` are parallel; the signs that leave the function
  unchanged are those satisfying equation (2), i.e. matching ``f_0`` and ``f_1``.
* **Claim 4.8**: if ``w_1..w_m`` are linearly dependent there are ``a`` and
  signs ``xi`` (not all ``+1``) with ``sum a_i sigma(w_i.x) == sum a_i sigma(xi_i w_i.x)``.

Everything rests on one identity (the sign symmetry behind ATV21, Claim 4.8):

    sigma(t) - sigma(-t) = t.                                              (*)

Flipping the units of a set ``S`` therefore changes ``f`` by the affine
function ``-sum_{i in S} a_i (w_i.x + b_i)``; it vanishes iff
``sum_{i in S} a_i (w_i, b_i) = 0`` in ``R^{d+1}``. This gives the
constructor (:func:`sign_flip_pair`), the enumerator of the valid sign
vectors (:func:`equation2_sign_vectors`) and, after grouping units by the
hyperplane they live on, an exact equality test for two networks
(:func:`function_equality_certificate`).

The L2 distance ``E[(f(x) - g(x))^2]`` for ``x ~ N(0, I_d)`` is computed in
closed form from the biased arc-cosine kernel
``E[sigma(w.x + b) sigma(v.x + c)]`` (:func:`relulib.relu_gaussian_kernel`, in
:mod:`relulib.gaussian`), a 2-D Gaussian integral evaluated with Owen's T function
(``scipy.special.owens_t``).
For ``b = c = 0`` it reduces to the arc-cosine kernel of degree 1 of Cho and Saul.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    as_finite_array, as_network, as_real_scalar, as_rng, )
from .certificate import CertificateWarning
from .gaussian import normal_cdf, relu_gaussian_kernel, relu_gaussian_mean
from .networks import TwoLayerNetwork

__all__ = [
    "EqualityCertificate",
    "SignFlipPair",
    "flip_units",
    "function_equality_certificate",
    "sign_flip_pair",
    "smallest_sign_flip_pair",
    "equation2_residual",
    "equation2_sign_vectors",
    "MAX_ENUMERATED_UNITS",
    "kruskal_rank",
    "l2_distance",
]

#: Largest number of hidden units :func:`equation2_sign_vectors` enumerates (2^m sign vectors).
MAX_ENUMERATED_UNITS = 20


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------
def _check_relu_single_output(net, name: str) -> TwoLayerNetwork:
    as_network(net, name)
    if net.activation.name != "relu":
        raise ValueError(
            f"{name}: expected a ReLU network (the identity sigma(t) - sigma(-t) = t is "
            f"specific to ReLU), got activation {net.activation.name!r}"
        )
    if net.m != 1:
        raise ValueError(f"{name}: expected a single-output network (m = 1), got m = {net.m}")
    return net


def _as_tolerance(tol, name: str = "tol") -> float:
    return as_real_scalar(tol, name, low=0.0, what="a non-negative tolerance")


def _parameter_scale(*nets: TwoLayerNetwork) -> float:
    """``1 + max_i |a_i| (|w_i| + |b_i|)`` over all units: the scale tolerances are relative to."""
    s = 0.0
    for net in nets:
        if net.k:
            s = max(s, float(np.max(np.abs(net.U[0]) * (np.linalg.norm(net.V, axis=1) + np.abs(net.b)))))
    return 1.0 + s


# ---------------------------------------------------------------------------
# Exact equality of two ReLU networks
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EqualityCertificate:
    """Reduced form of the difference ``h = f - g`` of two single-output ReLU networks.

    ``h(x) = sum_j kink_coefficients[j] sigma(kink_directions[j].x + kink_offsets[j])
    + affine_weight.x + affine_offset`` with unit ``kink_directions`` and pairwise
    distinct hyperplanes ``{u_j.x + beta_j = 0}``.  ``h == 0`` iff every kink
    coefficient and the affine part vanish (see
    :func:`function_equality_certificate`).

    Attributes
    ----------
    equal : bool
        ``residual <= tol * scale``.
    residual : float
        ``max(max_j |kink_coefficients[j]|, |affine_weight|, |affine_offset|)``.
    scale : float
        ``1 + max_i |a_i| (|w_i| + |b_i|)`` over the units of both networks.
    tol : float
    kink_coefficients : ndarray of shape (g,)
    kink_directions : ndarray of shape (g, d)
    kink_offsets : ndarray of shape (g,)
    affine_weight : ndarray of shape (d,)
    affine_offset : float
    """

    equal: bool
    residual: float
    scale: float
    tol: float
    kink_coefficients: np.ndarray
    kink_directions: np.ndarray
    kink_offsets: np.ndarray
    affine_weight: np.ndarray
    affine_offset: float

    def __bool__(self) -> bool:
        return self.equal


def _reduce_difference(f: TwoLayerNetwork, g: TwoLayerNetwork, merge_tol: float):
    """Group the units of ``f - g`` by hyperplane; return ``(C, U, beta, p, q)``.

    Each unit ``a sigma(w.x + b)`` with ``w != 0`` becomes ``a|w| sigma(u.x + beta)``
    with ``u = w/|w|``, ``beta = b/|w|`` (positive scaling). A unit whose key
    ``(u, beta)`` is the negative of a group's key is rewritten with (*),
    ``c sigma(-t) = c sigma(t) - c t``, which moves ``-c t`` into the affine part.
    Units with ``w = 0`` are the constants ``a sigma(b)``.
    """
    d = f.d
    keys: list[np.ndarray] = []
    coef: list[float] = []
    p = np.zeros(d)
    q = 0.0
    for net, sign in ((f, 1.0), (g, -1.0)):
        norms = np.linalg.norm(net.V, axis=1)
        for a, w, b, nw in zip(sign * net.U[0], net.V, net.b, norms):
            if nw == 0.0:
                q += a * max(b, 0.0)
                continue
            key = np.append(w / nw, b / nw)
            c = a * nw
            for j, r in enumerate(keys):
                width = merge_tol * (1.0 + abs(r[-1]))
                if np.max(np.abs(key - r)) <= width:
                    coef[j] += c
                    break
                if np.max(np.abs(key + r)) <= width:
                    # c sigma(-t_r) = c sigma(t_r) - c t_r, identity (*)
                    coef[j] += c
                    p -= c * r[:-1]
                    q -= c * r[-1]
                    break
            else:
                keys.append(key)
                coef.append(c)
    K = np.array(keys).reshape(-1, d + 1)
    return np.array(coef), K[:, :-1], K[:, -1], p, q


def function_equality_certificate(
    f: TwoLayerNetwork, g: TwoLayerNetwork, *, tol: float = 1e-9,
) -> EqualityCertificate:
    """Decide exactly (up to floating-point rounding) whether two ReLU networks are the same function.

    Not sampled: the difference ``h = f - g`` is reduced algebraically.

    1. Positive scaling: ``a sigma(w.x + b) = a|w| sigma(u.x + beta)``, ``u = w/|w|``,
       ``beta = b/|w|``; units with equal keys ``(u, beta)`` merge.
    2. Opposite keys live on the same hyperplane: by ``sigma(t) - sigma(-t) = t``,
       ``c sigma(-t) = c sigma(t) - c t``, so they merge too and leave an affine term.
    3. What is left is ``h = sum_j C_j sigma(u_j.x + beta_j) + p.x + q`` with pairwise
       distinct hyperplanes ``H_j = {u_j.x + beta_j = 0}``.

    **Claim.** ``h == 0`` on ``R^d`` iff all ``C_j = 0``, ``p = 0`` and ``q = 0``.
    *Proof.* "If" is clear. Suppose ``C_1 != 0``. Each ``H_j``, ``j != 1``, meets
    ``H_1`` in an affine subspace of lower dimension (or not at all), and finitely
    many of those cannot cover ``H_1``; pick ``x_0 in H_1`` off every ``H_j``,
    ``j != 1``. Near ``x_0`` every term but the first is affine, while the
    gradient of ``C_1 sigma(u_1.x + beta_1)`` jumps by ``C_1 u_1 != 0`` across
    ``H_1``. So ``h`` is not affine near ``x_0`` and ``h != 0``. Hence all
    ``C_j = 0``, and then ``h = p.x + q`` vanishes iff ``p = 0``, ``q = 0``. QED

    The decision ``residual <= tol * scale`` is exact for exactly represented
    parameters when ``tol = 0``; the default allows for rounding in parameters
    produced by floating-point computations (null vectors, normalisation).

    Parameters
    ----------
    f, g : TwoLayerNetwork
        Single-output ReLU networks with the same input dimension ``d``
        (any numbers of hidden units).
    tol : float, default 1e-9
        Relative tolerance, also used to decide when two unit keys coincide.

    Returns
    -------
    EqualityCertificate
        Truthy iff the networks are certified equal.

    Raises
    ------
    ValueError
        If a network is not a single-output ReLU network, the input dimensions
        differ, or ``tol`` is negative.

    Examples
    --------
    >>> import relulib as rl
    >>> pair = rl.smallest_sign_flip_pair()
    >>> rl.function_equality_certificate(pair.original, pair.flipped).equal
    True
    >>> net = rl.random_network(3, 3, bias_scale=1.0, rng=0)
    >>> rl.function_equality_certificate(net, rl.flip_units(net, [-1, 1, 1])).equal
    False
    """
    f = _check_relu_single_output(f, "f")
    g = _check_relu_single_output(g, "g")
    if f.d != g.d:
        raise ValueError(f"g: expected input dimension d = {f.d} (that of f), got d = {g.d}")
    tol = _as_tolerance(tol)
    C, U, beta, p, q = _reduce_difference(f, g, tol)
    parts = [np.max(np.abs(C)) if C.size else 0.0, float(np.linalg.norm(p)), abs(q)]
    residual = float(max(parts))
    scale = _parameter_scale(f, g)
    return EqualityCertificate(
        equal=bool(residual <= tol * scale),
        residual=residual,
        scale=scale,
        tol=tol,
        kink_coefficients=C,
        kink_directions=U,
        kink_offsets=beta,
        affine_weight=p,
        affine_offset=float(q),
    )


# ---------------------------------------------------------------------------
# Sign flips: Claim 4.8 and equation (2) of Theorem 3.4
# ---------------------------------------------------------------------------
def flip_units(net: TwoLayerNetwork, signs: ArrayLike) -> TwoLayerNetwork:
    """The network ``x -> sum_i a_i sigma(xi_i (w_i.x + b_i))``: units with ``xi_i = -1`` flipped.

    This is the parameter set ``(a_i, xi_i b_i, xi_i w_i)`` of ATV21, Theorem 3.4.

    Parameters
    ----------
    net : TwoLayerNetwork
    signs : array_like of shape (k,)
        Entries ``+1`` or ``-1``.

    Returns
    -------
    TwoLayerNetwork
        The flipped network.

    Raises
    ------
    ValueError
        If ``signs`` has the wrong shape or entries other than ``+-1``.
    """
    as_network(net, "net")
    xi = as_finite_array(signs, "signs", shape=(net.k,))
    if not np.all(np.abs(xi) == 1):
        raise ValueError(f"signs: expected entries +1 or -1, got {xi.tolist()}")
    return TwoLayerNetwork(net.U.copy(), xi[:, None] * net.V, xi * net.b, net.activation)


@dataclass(frozen=True)
class SignFlipPair:
    """Two parameterisations of one function (ATV21, Claim 4.8).

    Attributes
    ----------
    a : ndarray of shape (k,)
        Output weights, ``max |a_i| = 1``.
    signs : ndarray of int, shape (k,)
        ``xi``, not all ``+1``.
    original : TwoLayerNetwork
        ``x -> sum_i a_i sigma(w_i.x + b_i)``.
    flipped : TwoLayerNetwork
        ``x -> sum_i a_i sigma(xi_i (w_i.x + b_i))``.
    certificate : EqualityCertificate
        :func:`function_equality_certificate` of the two networks.
    """

    a: np.ndarray
    signs: np.ndarray
    original: TwoLayerNetwork
    flipped: TwoLayerNetwork
    certificate: EqualityCertificate


def sign_flip_pair(
    V: ArrayLike, b: ArrayLike | None = None, *, rng: int | np.random.Generator | None = None,
    tol: float = 1e-9,
) -> SignFlipPair:
    """Construct the counterexample of ATV21, Claim 4.8 (with biases).

    Given weight vectors ``w_1..w_k`` (rows of ``V``) and biases ``b``, find
    ``a != 0`` with

        sum_i a_i w_i = 0   and   sum_i a_i b_i = 0,

    i.e. a null vector of the ``(d+1) x k`` matrix with columns ``(w_i, b_i)``.
    With ``xi_i = -1`` where ``a_i != 0`` (and ``+1`` elsewhere), identity
    ``sigma(t) - sigma(-t) = t`` gives

        sum_i a_i sigma(w_i.x + b_i) - sum_i a_i sigma(xi_i (w_i.x + b_i))
            = sum_i a_i (w_i.x + b_i) = 0   for every x.

    Without biases (``b=None``, Claim 4.8 as printed) this needs the ``w_i`` to be
    linearly dependent; with biases the augmented vectors ``(w_i, b_i)`` must be.
    When the null space has dimension > 1 a random combination (from ``rng``)
    is taken, so that generically every unit has ``a_i != 0``.

    Parameters
    ----------
    V : array_like of shape (k, d)
        One weight vector ``w_i`` per row.
    b : array_like of shape (k,), optional
        Biases; ``None`` means zeros.
    rng : None, int or numpy.random.Generator
    tol : float, default 1e-9
        Relative tolerance of the rank decision (singular values below
        ``tol * s_max`` count as zero) and of the equality certificate.

    Returns
    -------
    SignFlipPair

    Raises
    ------
    ValueError
        If the vectors ``w_i`` (augmented with ``b_i`` when biases are given) are
        linearly independent: then no sign flip of units with ``a_i != 0`` keeps
        the function (see :func:`equation2_sign_vectors`).

    Warns
    -----
    CertificateWarning
        If the equality certificate of the constructed pair fails (it states the residual).

    Examples
    --------
    >>> import numpy as np
    >>> pair = sign_flip_pair(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
    >>> pair.signs.tolist(), bool(pair.certificate)
    ([-1, -1, -1], True)
    """
    V = as_finite_array(V, "V", ndim=2)
    k, d = V.shape
    if k == 0 or d == 0:
        raise ValueError(f"V: expected at least one unit and one input, got shape {V.shape}")
    biased = b is not None
    b = as_finite_array(b, "b", shape=(k,)) if biased else np.zeros(k)
    tol = _as_tolerance(tol)
    rng = as_rng(rng)
    A = np.vstack([V.T, b[None, :]])  # (d+1, k): columns (w_i, b_i)
    _, s, Vt = np.linalg.svd(A)  # full_matrices: Vt is (k, k)
    smax = float(s.max()) if s.size else 0.0
    rank = int(np.sum(s > tol * smax)) if smax > 0 else 0
    null = Vt[rank:]  # orthonormal basis of {a : sum_i a_i (w_i, b_i) = 0}
    smin = float(s.min()) if s.size == k else 0.0
    if null.shape[0] == 0:
        what = "augmented vectors (w_i, b_i)" if biased else "weight vectors w_i (rows of V)"
        raise ValueError(
            f"V: expected linearly dependent weight vectors (ATV21, Claim 4.8), got {k} "
            f"linearly independent {what} (smallest singular value {smin:.3g} > "
            f"tol * largest = {tol * smax:.3g}); then no sign flip preserves the function"
        )
    coeffs = rng.standard_normal(null.shape[0]) if null.shape[0] > 1 else np.ones(1)
    a = coeffs @ null
    a = a / np.max(np.abs(a))
    a[np.abs(a) <= tol] = 0.0
    if not np.any(a):
        raise ValueError(
            f"tol: expected a relative tolerance below 1 (the largest output weight is 1), "
            f"got {tol!r}: it sets every output weight to zero"
        )
    if a[np.flatnonzero(a)[0]] < 0:  # a deterministic overall sign
        a = -a
    signs = np.where(a != 0, -1, 1)
    original = TwoLayerNetwork(a, V, b)
    flipped = flip_units(original, signs)
    cert = function_equality_certificate(original, flipped, tol=tol)
    if not cert.equal:
        warnings.warn(
            f"sign_flip_pair: the equality certificate failed with residual {cert.residual:.3g} "
            f"(> tol * scale = {tol * cert.scale:.3g}); V is close to rank deficient only "
            "numerically",
            CertificateWarning,
            stacklevel=2,
        )
    return SignFlipPair(a=a, signs=signs.astype(int), original=original, flipped=flipped, certificate=cert)


def smallest_sign_flip_pair() -> SignFlipPair:
    """The smallest instance of Claim 4.8 (two units, ``d = 1``; chapter "Identifiability").

    ``sigma(x1) + sigma(x2) + sigma(-x1 - x2) == sigma(-x1) + sigma(-x2) + sigma(x1 + x2)``
    on ``R^2``: three pairwise non-parallel units in dimension 2 (so they are
    linearly dependent), ``a = (1, 1, 1)``, ``xi = (-1, -1, -1)``.

    Returns
    -------
    SignFlipPair
        The pair, with its certificate.

    Examples
    --------
    >>> pair = smallest_sign_flip_pair()
    >>> pair.flipped.V.tolist()
    [[-1.0, -0.0], [-0.0, -1.0], [1.0, 1.0]]
    """
    V = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    a = np.ones(3)
    signs = -np.ones(3, dtype=int)
    original = TwoLayerNetwork(a, V)
    flipped = flip_units(original, signs)
    cert = function_equality_certificate(original, flipped, tol=0.0)
    return SignFlipPair(a=a, signs=signs, original=original, flipped=flipped, certificate=cert)


def equation2_residual(
    net: TwoLayerNetwork, signs: ArrayLike, *, as_printed: bool = False,
) -> np.ndarray:
    """Residual of equation (2) of ATV21, Theorem 3.4 for the sign vector ``signs``.

    With ``as_printed=False`` (the default, the corrected equation)::

        r[:d] = sum_i a_i Phi(xi_i b_i) xi_i w_i      - sum_i a_i Phi(b_i) w_i     (f_1)
        r[d]  = sum_i a_i xi_i b_i Phi(xi_i b_i)       - sum_i a_i b_i Phi(b_i)     (f_0)

    The second line is ``f_0(flipped) - f_0(f)`` (Lemma 3.5; ``phi`` is even).
    ATV21 prints it without the factor ``xi_i``,
    ``sum_i a_i b_i Phi(xi_i b_i) = sum_i a_i b_i Phi(b_i)``, which is
    reproduced with ``as_printed=True``; that version is not sufficient for
    equality (see the chapter "Identifiability" and the errata).

    ``net`` is normalised first (unit ``w_i``), as ATV21 assumes.

    Parameters
    ----------
    net : TwoLayerNetwork
        A single-output ReLU network.
    signs : array_like of shape (k,)
        The signs ``xi_i``, entries ``+1`` or ``-1``.
    as_printed : bool, default False
        Use the second line as printed in ATV21 instead of the corrected one.

    Returns
    -------
    ndarray of shape (d + 1,)

    Raises
    ------
    TypeError
        ``net`` not a :class:`relulib.TwoLayerNetwork`.
    ValueError
        ``net`` not a single-output ReLU network, or ``signs`` not ``k`` entries
        +1 or -1.
    """
    net = _check_relu_single_output(net, "net").normalized()
    xi = as_finite_array(signs, "signs", shape=(net.k,))
    if not np.all(np.abs(xi) == 1):
        raise ValueError(f"signs: expected entries +1 or -1, got {xi.tolist()}")
    a, W, b = net.U[0], net.V, net.b
    r1 = (a * normal_cdf(xi * b) * xi) @ W - (a * normal_cdf(b)) @ W
    if as_printed:
        r0 = np.sum(a * b * normal_cdf(xi * b)) - np.sum(a * b * normal_cdf(b))
    else:
        r0 = np.sum(a * xi * b * normal_cdf(xi * b)) - np.sum(a * b * normal_cdf(b))
    return np.append(r1, r0)


def equation2_sign_vectors(net: TwoLayerNetwork, *, tol: float = 1e-9) -> np.ndarray:
    """All sign vectors ``xi`` satisfying equation (2) of ATV21, Theorem 3.4 (corrected).

    By Lemma 3.5 and ``Phi(b) + Phi(-b) = 1``, flipping the set
    ``S = {i : xi_i = -1}`` changes ``(f_1, f_0)`` by exactly
    ``-sum_{i in S} a_i (w_i, b_i)``, so (2) holds iff
    ``sum_{i in S} a_i (w_i, b_i) = 0``. These are exactly the sign vectors whose
    flipped network is the same function (the change is the affine function
    ``-sum_{i in S} a_i (w_i.x + b_i)``).

    Cost: all ``2^k`` vectors are enumerated, ``O(2^k k d)`` time and
    ``O(2^k (k + d))`` memory, so ``k <= MAX_ENUMERATED_UNITS`` (20). Deciding
    whether a non-trivial solution exists is a subset-sum-type problem, so no
    general shortcut is expected; the enumeration is exact for small ``k``.

    Parameters
    ----------
    net : TwoLayerNetwork
        Single-output ReLU network with ``k <= 20`` units.
    tol : float, default 1e-9
        A sign vector counts as a solution when the residual of (2) is at most
        ``tol * (1 + max_i |a_i| (|w_i| + |b_i|))``.

    Returns
    -------
    ndarray of int, shape (s, k)
        The solutions, entries ``+-1``; the first row is always all ``+1``.

    Raises
    ------
    ValueError
        If ``net`` is not a single-output ReLU network or has more than 20 units.

    Examples
    --------
    >>> import relulib as rl
    >>> rl.equation2_sign_vectors(rl.smallest_sign_flip_pair().original).tolist()
    [[1, 1, 1], [-1, -1, -1]]
    """
    net = _check_relu_single_output(net, "net")
    if net.k > MAX_ENUMERATED_UNITS:
        raise ValueError(
            f"net: expected at most {MAX_ENUMERATED_UNITS} hidden units for the 2^k enumeration, "
            f"got k = {net.k}"
        )
    tol = _as_tolerance(tol)
    unit = net.normalized()
    a, W, b = unit.U[0], unit.V, unit.b
    # Row j of `flips` is the indicator of S for the j-th sign vector (bit i = unit i).
    k = net.k
    codes = np.arange(2**k)
    flips = ((codes[:, None] >> np.arange(k)[None, :]) & 1).astype(float)
    xi = 1.0 - 2.0 * flips
    # ATV21, Theorem 3.4, equation (2), evaluated literally with Phi (corrected f_0 line).
    change_1 = a[:, None] * (-normal_cdf(-b) - normal_cdf(b))[:, None] * W  # xi_i = -1 minus xi_i = +1
    change_0 = a * (-b * normal_cdf(-b) - b * normal_cdf(b))
    R = flips @ np.hstack([change_1, change_0[:, None]])
    ok = np.max(np.abs(R), axis=1) <= tol * _parameter_scale(unit)
    return xi[ok].astype(int)


def kruskal_rank(M: ArrayLike, *, rtol: float = 1e-10) -> int:
    """Kruskal rank of the columns of ``M``: the largest ``r`` such that *every* ``r`` columns are independent.

    Used in ATV21's proof of Theorem 3.4 through Fact 4.7 (BCV14, Lemma A.4),
    ``krank(U (.) V) >= min(krank(U) + krank(V) - 1, m)`` for the Khatri-Rao
    (column-wise Kronecker) product. Brute force over column subsets: cost
    ``sum_r C(m, r)`` rank computations, so for small ``m`` only (``m <= 16``).

    Parameters
    ----------
    M : array_like of shape (p, m)
    rtol : float, default 1e-10
        A subset counts as independent when its smallest singular value exceeds
        ``rtol`` times the largest column norm of ``M``.

    Returns
    -------
    int
        The Kruskal rank.

    Raises
    ------
    TypeError
        ``rtol`` not a number.
    ValueError
        ``M`` not a finite 2-D array, more than 16 columns (the brute force), or
        ``rtol`` negative.

    Examples
    --------
    >>> kruskal_rank([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    2
    >>> kruskal_rank([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # two equal columns
    1
    """
    M = as_finite_array(M, "M", ndim=2)
    m = M.shape[1]
    if m > 16:
        raise ValueError(f"M: expected at most 16 columns for the brute-force Kruskal rank, got {m}")
    rtol = _as_tolerance(rtol, "rtol")
    scale = float(np.max(np.linalg.norm(M, axis=0))) if m else 0.0
    if scale == 0.0:
        return 0
    r = 0
    for size in range(1, min(m, M.shape[0]) + 1):
        for cols in itertools.combinations(range(m), size):
            if np.linalg.svd(M[:, cols], compute_uv=False)[-1] <= rtol * scale:
                return r
        r = size
    return r


# ---------------------------------------------------------------------------
# Closed-form Gaussian kernel and L2 distance
# ---------------------------------------------------------------------------
def l2_distance(f: TwoLayerNetwork, g: TwoLayerNetwork, *, merge_tol: float = 1e-12) -> float:
    """Closed-form L2 distance ``sqrt(E[(f(x) - g(x))^2])``, ``x ~ N(0, I_d)``.

    The difference is first reduced as in :func:`function_equality_certificate`
    (units on the same hyperplane merged, with key tolerance ``merge_tol``) to
    ``h = sum_j C_j sigma(u_j.x + beta_j) + p.x + q``; then::

        E[h^2] = C^T K C + 2 sum_j C_j (Phi(beta_j) u_j.p + q (beta_j Phi(beta_j) + phi(beta_j)))
                 + |p|^2 + q^2

    with ``K = relu_gaussian_kernel`` (``E[sigma(u.x + beta) x] = Phi(beta) u`` is
    ``f_1`` of Lemma 3.5), after orienting every kink so that ``beta_j <= 0``
    (``C sigma(t) = C sigma(-t) + C t``). Merging first avoids the cancellation
    ``E[f^2] - 2 E[fg] + E[g^2]`` for equal networks, so certified-equal
    networks get a distance at rounding level (about 1e-16), not 1e-8.

    Parameters
    ----------
    f, g : TwoLayerNetwork
        Single-output ReLU networks with the same ``d``.
    merge_tol : float, default 1e-12

    Returns
    -------
    float

    Raises
    ------
    TypeError
        ``f`` or ``g`` not a :class:`relulib.TwoLayerNetwork`, or ``merge_tol`` not
        a number.
    ValueError
        ``f`` or ``g`` not single-output ReLU networks, of different input
        dimensions, or ``merge_tol`` negative.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.TwoLayerNetwork([1.0], [[1.0, 0.0]])
    >>> round(rl.l2_distance(net, rl.flip_units(net, [-1])), 12)  # E[z^2] = 1
    1.0
    """
    f = _check_relu_single_output(f, "f")
    g = _check_relu_single_output(g, "g")
    if f.d != g.d:
        raise ValueError(f"g: expected input dimension d = {f.d} (that of f), got d = {g.d}")
    merge_tol = _as_tolerance(merge_tol, "merge_tol")
    C, U, beta, p, q = _reduce_difference(f, g, merge_tol)
    # Orient every kink to its mostly inactive side (beta <= 0) with c sigma(t) = c sigma(-t) + c t:
    # the large, almost affine part of a unit then cancels in (p, q) exactly instead of in the
    # quadratic form (e.g. sigma(z + 5) - (z + 5) = sigma(-z - 5) is computed to full relative accuracy).
    up = beta > 0
    p = p + C[up] @ U[up]
    q = q + float(C[up] @ beta[up])
    U, beta = np.where(up[:, None], -U, U), np.where(up, -beta, beta)
    total = float(p @ p + q * q)
    if C.size:
        K = relu_gaussian_kernel(U, beta, U, beta)
        cross = normal_cdf(beta) * (U @ p) + q * relu_gaussian_mean(beta)
        total += float(C @ K @ C + 2.0 * C @ cross)
    return math.sqrt(max(total, 0.0))

