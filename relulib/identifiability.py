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
``E[sigma(w.x + b) sigma(v.x + c)]`` (:func:`relu_gaussian_kernel`), a 2-D
Gaussian integral evaluated with Owen's T function (``scipy.special.owens_t``).
For ``b = c = 0`` it reduces to the arc-cosine kernel of degree 1 of Cho and Saul.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

from ._validation import (
    as_finite_array, as_network, as_real_array, as_real_scalar, as_rng, )
from .certificate import CertificateWarning
from .hermite import normal_cdf, normal_pdf
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
    "bivariate_normal_cdf",
    "relu_gaussian_kernel",
    "l2_distance",
    "large_bias_replacement_error",
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


def function_equality_certificate(f, g, *, tol=1e-9) -> EqualityCertificate:
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
def flip_units(net, signs) -> TwoLayerNetwork:
    """The network ``x -> sum_i a_i sigma(xi_i (w_i.x + b_i))``: units with ``xi_i = -1`` flipped.

    This is the parameter set ``(a_i, xi_i b_i, xi_i w_i)`` of ATV21, Theorem 3.4.

    Parameters
    ----------
    net : TwoLayerNetwork
    signs : array_like of shape (k,)
        Entries ``+1`` or ``-1``.

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


def sign_flip_pair(V, b=None, *, rng=None, tol=1e-9) -> SignFlipPair:
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


def equation2_residual(net, signs, *, as_printed=False) -> np.ndarray:
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

    Returns
    -------
    ndarray of shape (d + 1,)
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


def equation2_sign_vectors(net, *, tol=1e-9) -> np.ndarray:
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


def kruskal_rank(M, *, rtol=1e-10) -> int:
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
def bivariate_normal_cdf(h, k, rho):
    """``Phi_2(h, k; rho) = P(Z_1 <= h, Z_2 <= k)`` for standard normals with correlation ``rho``.

    Owen's formula (Owen 1956; DLMF 7.22-type reduction to Owen's T):

        Phi_2 = (Phi(h) + Phi(k))/2 - T(h, a_h) - T(k, a_k) - delta,
        a_h = (k - rho h) / (h s),  a_k = (h - rho k) / (k s),  s = sqrt(1 - rho^2),

    with ``delta = 1/2`` if ``hk < 0`` or (``hk = 0`` and ``h + k < 0``), else 0;
    ``T(0, +-inf) = +-1/4`` handles ``h = 0`` or ``k = 0``, and
    ``Phi_2(0, 0; rho) = 1/4 + arcsin(rho)/(2 pi)``. ``|rho| = 1`` uses the limits
    ``Phi(min(h, k))`` and ``max(0, Phi(h) + Phi(k) - 1)``. Accurate to about
    1e-15 absolutely (``scipy.special.owens_t``), unlike
    ``scipy.stats.multivariate_normal``, whose default tolerance is 1e-5.

    Parameters
    ----------
    h, k, rho : array_like
        Broadcast together; ``|rho| <= 1``. ``h`` and ``k`` may be ``+-inf``
        (the marginal limits); NaN and complex values raise. Correct for all
        scales, ``1e-300`` to ``1e300`` (the sign of ``h k`` is taken from the
        signs, never from the product, which underflows).

    Examples
    --------
    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 12)  # 1/4 + 1/12
    0.333333333333
    """
    h = as_real_array(h, "h", allow_inf=True)
    k = as_real_array(k, "k", allow_inf=True)
    rho = as_finite_array(rho, "rho")
    h, k, rho = np.broadcast_arrays(h, k, rho)
    if np.any(np.abs(rho) > 1 + 1e-12):
        raise ValueError(f"rho: expected correlations in [-1, 1], got max |rho| = {np.max(np.abs(rho)):.6g}")
    rho = np.clip(rho, -1.0, 1.0)
    s = np.sqrt(np.maximum(1.0 - rho * rho, 0.0))
    out = np.empty(h.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a_h = np.where(h != 0, (k - rho * h) / (h * s), np.sign(k) * np.inf)
        a_k = np.where(k != 0, (h - rho * k) / (k * s), np.sign(h) * np.inf)
    t_h = np.where(h != 0, special.owens_t(h, np.nan_to_num(a_h, nan=0.0)), np.sign(k) * 0.25)
    t_k = np.where(k != 0, special.owens_t(k, np.nan_to_num(a_k, nan=0.0)), np.sign(h) * 0.25)
    # The sign of h k from the signs, not the product: 1e-200 * -1e-200 underflows to -0.0.
    sign_hk = np.sign(h) * np.sign(k)
    delta = np.where((sign_hk < 0) | ((sign_hk == 0) & (h + k < 0)), 0.5, 0.0)
    out[...] = 0.5 * (special.ndtr(h) + special.ndtr(k)) - t_h - t_k - delta
    zero = (h == 0) & (k == 0)
    out[zero] = 0.25 + np.arcsin(rho[zero]) / (2 * math.pi)
    plus, minus = rho >= 1.0, rho <= -1.0
    out[plus] = special.ndtr(np.minimum(h, k))[plus]
    out[minus] = np.maximum(0.0, special.ndtr(h) + special.ndtr(k) - 1.0)[minus]
    return out if out.ndim else float(out)


def _std_kernel(beta, gamma, rho):
    """``K = E[(Z_1 + beta)_+ (Z_2 + gamma)_+]``, ``(Z_1, Z_2)`` standard with correlation ``rho``.

    With ``h = -beta``, ``k = -gamma``, ``1 = 1{Z_1 > h, Z_2 > k}`` and Stein's lemma
    ``E[Z_1 G] = E[d_1 G] + rho E[d_2 G]``:
    ``E[1] = Phi_2(beta, gamma; rho)``,
    ``E[Z_1 1] = phi(h) A + rho phi(k) B``, ``E[Z_2 1] = phi(k) B + rho phi(h) A``,
    ``E[Z_1 Z_2 1] = phi(h)(rho h A + s phi((k - rho h)/s)) + rho E[1] + rho k phi(k) B``
    with ``A = Phi((gamma - rho beta)/s)``, ``B = Phi((beta - rho gamma)/s)``; then
    ``K = E[Z_1 Z_2 1] - k E[Z_1 1] - h E[Z_2 1] + h k E[1]``.
    """
    beta, gamma, rho = np.broadcast_arrays(beta, gamma, rho)
    rho = np.clip(rho, -1.0, 1.0)
    h, k = -beta, -gamma
    K = np.empty(beta.shape)
    # |rho| within 1e-12 of 1: by Price's theorem dK/drho = P(Z_1 > h, Z_2 > k) <= 1,
    # so using the rho = +-1 limit costs at most 1e-12.
    near_p = rho >= 1.0 - 1e-12
    near_m = rho <= -1.0 + 1e-12
    gen = ~(near_p | near_m)
    if np.any(gen):
        hh, kk, r = h[gen], k[gen], rho[gen]
        s = np.sqrt(1.0 - r * r)
        P = bivariate_normal_cdf(-hh, -kk, r)
        A = normal_cdf((r * hh - kk) / s)
        B = normal_cdf((r * kk - hh) / s)
        ph, pk = normal_pdf(hh), normal_pdf(kk)
        EX = ph * A + r * pk * B
        EY = pk * B + r * ph * A
        EXY = ph * (r * hh * A + s * normal_pdf((kk - r * hh) / s)) + r * P + r * kk * pk * B
        K[gen] = EXY - kk * EX - hh * EY + hh * kk * P
    if np.any(near_p):  # Z_2 = Z_1: E[(Z - h)(Z - k) 1{Z > max(h, k)}]
        hh, kk = h[near_p], k[near_p]
        mm = np.maximum(hh, kk)
        tail, pm = normal_cdf(-mm), normal_pdf(mm)
        K[near_p] = (tail + mm * pm) - (hh + kk) * pm + hh * kk * tail
    if np.any(near_m):  # Z_2 = -Z_1: integral of (z - h)(-z - k) phi(z) over h < z < -k
        lo, hi = h[near_m], -k[near_m]
        hi = np.maximum(hi, lo)
        dP = normal_cdf(hi) - normal_cdf(lo)
        m2 = dP + lo * normal_pdf(lo) - hi * normal_pdf(hi)
        m1 = normal_pdf(lo) - normal_pdf(hi)
        hh, kk = h[near_m], k[near_m]
        K[near_m] = -m2 - (kk - hh) * m1 + hh * kk * dP
    return np.maximum(K, 0.0)


def relu_gaussian_kernel(V1, b1, V2, b2):
    """Closed-form ``E[sigma(v.x + b) sigma(u.x + c)]`` for ``x ~ N(0, I_d)``, all pairs.

    ``s = v.x + b`` and ``t = u.x + c`` are jointly Gaussian with means ``(b, c)``,
    variances ``|v|^2, |u|^2`` and covariance ``v.u``; hence::

        E[sigma(s) sigma(t)] = |v| |u| K(b/|v|, c/|u|, v.u/(|v||u|)),
        K(beta, gamma, rho) = E[(Z_1 + beta)_+ (Z_2 + gamma)_+],

    a 2-D Gaussian integral evaluated exactly with the bivariate normal CDF
    (:func:`bivariate_normal_cdf`, via Owen's T). For ``b = c = 0`` this is the
    degree-1 arc-cosine kernel of Cho and Saul,
    ``|v||u| (sin theta + (pi - theta) cos theta) / (2 pi)``, i.e.
    :func:`relulib.relu_kernel` (which evaluates biased pairs one at a time by
    quadrature; this function is closed-form and vectorised over all pairs). Zero rows give
    ``sigma(b) E[sigma(u.x + c)]`` with ``E[sigma(u.x + c)] = |u| (gamma Phi(gamma) + phi(gamma))``.

    Parameters
    ----------
    V1 : array_like of shape (k1, d)
    b1 : array_like of shape (k1,) or None
    V2 : array_like of shape (k2, d)
    b2 : array_like of shape (k2,) or None

    Returns
    -------
    ndarray of shape (k1, k2)

    Examples
    --------
    >>> K = relu_gaussian_kernel([[1.0, 0.0]], None, [[1.0, 0.0]], None)
    >>> round(float(K[0, 0]), 12)  # E[sigma(z)^2] = 1/2
    0.5
    """
    V1 = as_finite_array(V1, "V1", ndim=2)
    V2 = as_finite_array(V2, "V2", ndim=2)
    if V1.shape[1] != V2.shape[1]:
        raise ValueError(f"V2: expected {V1.shape[1]} columns (those of V1), got shape {V2.shape}")
    b1 = np.zeros(V1.shape[0]) if b1 is None else as_finite_array(b1, "b1", shape=(V1.shape[0],))
    b2 = np.zeros(V2.shape[0]) if b2 is None else as_finite_array(b2, "b2", shape=(V2.shape[0],))
    n1, n2 = np.linalg.norm(V1, axis=1), np.linalg.norm(V2, axis=1)
    z1, z2 = n1 == 0, n2 == 0
    s1, s2 = np.where(z1, 1.0, n1), np.where(z2, 1.0, n2)
    beta, gamma = b1 / s1, b2 / s2
    rho = (V1 / s1[:, None]) @ (V2 / s2[:, None]).T
    K = n1[:, None] * n2[None, :] * _std_kernel(beta[:, None], gamma[None, :], rho)
    mean1 = n1 * (beta * normal_cdf(beta) + normal_pdf(beta))  # E[sigma(v.x + b)]
    mean2 = n2 * (gamma * normal_cdf(gamma) + normal_pdf(gamma))
    K = np.where(z1[:, None], np.maximum(b1, 0.0)[:, None] * mean2[None, :], K)
    K = np.where(z2[None, :], mean1[:, None] * np.maximum(b2, 0.0)[None, :], K)
    K = np.where(z1[:, None] & z2[None, :], np.outer(np.maximum(b1, 0.0), np.maximum(b2, 0.0)), K)
    return K


def l2_distance(f, g, *, merge_tol=1e-12) -> float:
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
        cross = normal_cdf(beta) * (U @ p) + q * (beta * normal_cdf(beta) + normal_pdf(beta))
        total += float(C @ K @ C + 2.0 * C @ cross)
    return math.sqrt(max(total, 0.0))


def large_bias_replacement_error(b):
    """Squared L2 cost of replacing ``sigma(z + b)`` by its large-``|b|`` limit.

    For ``b > 0`` the unit is replaced by the affine function ``z + b``, for
    ``b < 0`` by 0 (ATV21, Section 3; the book's appendix on the reconstructions,
    large biases). In both cases, by
    ``sigma(t) - t = sigma(-t)``::

        E[(sigma(z + b) - limit)^2] = E[sigma(-|b| - z)^2]
                                    = (1 + b^2) Phi(-|b|) - |b| phi(b),   z ~ N(0, 1).

    Parameters
    ----------
    b : array_like

    Returns
    -------
    ndarray or float

    Examples
    --------
    >>> f"{large_bias_replacement_error(2.0):.1e}"
    '5.8e-03'
    """
    b = np.abs(as_finite_array(b, "b"))
    with np.errstate(over="ignore", invalid="ignore"):
        out = (1.0 + b * b) * normal_cdf(-b) - b * normal_pdf(b)
    out = np.where(b > 38.0, 0.0, np.maximum(out, 0.0))  # underflow: 0, not inf * 0 = NaN
    return float(out) if out.ndim == 0 else out
