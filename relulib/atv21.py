"""The ATV21 pipeline: learning ``f(x) = a^T sigma(W^T x + b)`` from Hermite tensors.

Awasthi, Tang and Vijayaraghavan (NeurIPS 2021), Section 4:

* Algorithm 1 (:func:`recover_from_coefficients`): decompose the flattened
  Hermite coefficients ``f_{2l+1}`` and ``f_{2l+2}`` with Jennrich's
  algorithm and take the union of the directions found (a bias at a root of
  ``He_{2l-1}`` hides a unit from the first tensor, a root of ``He_{2l}``
  from the second; consecutive Hermite polynomials share no root);
* Algorithm 2 (:func:`recover_scalars`): ``a_i`` and ``b_i`` (up to the sign
  of ``w_i``) from the coefficients ``zeta_j(i)`` of ``w_i^{(x) j}`` in
  ``f_j``, with the *consistent* Hermite index: by Lemma 3.5 the order-``j``
  tensor carries ``He_{j-2}(b)``, so
  ``zeta_j = (-1)^j beta He_{j-2}(b~)`` with ``beta = a phi(b)``. The printed
  Algorithm 2 and Lemma 4.5 use ``He_j`` for ``l > 1`` (see the errata page);
* Algorithm 3 (:func:`fix_signs`): the signs from ``f_1`` when the ``w_i``
  are linearly independent (``l = 1``).

:func:`recover_with_bias` runs the ``l = 1`` algorithm on finite samples
(the book's appendix "How the algorithms were reconstructed"): residualised,
projected, streamed moments;
Jennrich on orders 3 and 4; scalars; signs; then polishing by activation
pattern least squares (:func:`relulib.refine_by_patterns`, an extension that
none of the three papers states) and a certificate: the relative residual on held-out
samples.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    InputTypeError,
    as_finite_array,
    as_degree,
    as_network,
    as_nonnegative_int,
    as_positive_int,
    as_real_scalar,
    as_recovery_problem,
    as_repetitions,
    as_rng,
    as_row_indices,
    check_finite_result,
    describe,
    is_dask_array,
)
from .decomposition import flattening_rank, jennrich, jennrich_slices, slice_als
from .hermite import hermite_prob
from .moments import HermiteMomentAccumulator, ProjectedMomentAccumulator, chunk_rows, row_blocks
from .networks import TwoLayerNetwork
from .certificate import (
    CERTIFICATE_TOL, CertificateWarning, RecoveryResult, as_tolerance, relative_residual,
    warn_identifiability,
)
from .refine import refine_by_patterns
from ._threads import single_blas_thread
from .tensors import flatten

__all__ = [
    "Algorithm1Result",
    "recover_scalars",
    "fix_signs",
    "recover_from_coefficients",
    "moment_estimate",
    "moment_fit_residual",
    "ProjectedMoments",
    "projected_moments",
    "tensor_stage",
    "recover_with_bias",
    "large_bias_surrogate",
]

_SQRT_2PI = np.sqrt(2.0 * np.pi)


# ---------------------------------------------------------------------------
# Small kernels
# ---------------------------------------------------------------------------
def _power_columns(directions: np.ndarray, order: int) -> np.ndarray:
    """Matrix whose column ``i`` is ``vec(w_i^{(x) order})``: shape (d**order, m)."""
    m, d = directions.shape
    cols = np.ones((m, 1))
    for _ in range(order):
        cols = (cols[:, :, None] * directions[:, None, :]).reshape(m, -1)
    return cols.T


def _coefficients_against(directions: np.ndarray, tensor: np.ndarray, order: int) -> np.ndarray:
    """``zeta`` solving ``sum_i zeta_i vec(w_i^{(x) order}) = vec(T)`` in least squares."""
    A = _power_columns(directions, order)
    return np.linalg.lstsq(A, tensor.reshape(-1), rcond=None)[0]


def _direction_from_factor(column: np.ndarray, d: int) -> np.ndarray:
    """Unit ``u`` from a factor ``vec(u^{(x) p})`` (top singular vector of its d x d^(p-1) reshape)."""
    M = column.reshape(d, -1)
    if M.shape[1] == 1:
        u = M[:, 0]
    else:
        u = np.linalg.svd(M, full_matrices=False)[0][:, 0]
    return u / np.linalg.norm(u)


def _remove_antipodal_duplicates(vectors, *, tol=1e-6):
    """Keep one of every group of vectors equal up to sign (``|cos| > 1 - tol``).

    Step 4 of Algorithm 1 (ATV21).
    """
    vectors = np.asarray(vectors)
    kept = []
    for v in vectors:
        if all(abs(float(v @ u)) <= 1.0 - tol for u in kept):
            kept.append(v)
    return np.array(kept).reshape(len(kept), vectors.shape[1])


# ---------------------------------------------------------------------------
# Algorithm 2 and Algorithm 3
# ---------------------------------------------------------------------------
def _as_directions(directions) -> np.ndarray:
    W = as_finite_array(directions, "directions", ndim=2, nonempty=True)
    norms = np.linalg.norm(W, axis=1)
    if not np.all(np.isfinite(norms)):  # rows of extreme scale: normalise in two steps
        W = W / np.max(np.abs(W), axis=1, keepdims=True)
        norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"directions: expected non-zero rows, got zero rows {np.flatnonzero(norms == 0).tolist()}")
    return W / norms[:, None]


def _tensor_of_order(tensors, order: int, d: int) -> np.ndarray:
    try:
        T = tensors[order]
    except (KeyError, IndexError, TypeError):
        if isinstance(tensors, Mapping) and not all(isinstance(j, numbers.Integral) for j in tensors):
            raise InputTypeError(
                f"tensors: expected a mapping from integer orders to tensors, got keys "
                f"{sorted(map(repr, tensors))[:5]}"
            ) from None
        raise ValueError(
            f"tensors: expected the Hermite tensor of order {order} (tensors[{order}]), got none"
        ) from None
    return as_finite_array(T, f"tensors[{order}]", shape=(d,) * order)


def recover_scalars(
    directions: ArrayLike, tensors: Mapping[int, ArrayLike] | Sequence[ArrayLike], ell: int = 1,
) -> TwoLayerNetwork:
    """Output weights and biases from known directions (ATV21, Algorithm 2, consistent index).

    Given unit directions ``w~_i = xi_i w_i`` (signs unknown) and the Hermite
    tensors ``T_j = f_j``, solve::

        sum_i zeta_j(i) vec(w~_i^{(x) j}) = vec(T_j)

    for the coefficients ``zeta_j(i)``. By ATV21, Lemma 3.5 (the order-``j`` tensor
    carries ``He_{j-2}``) and ``He_n(-x) = (-1)^n He_n(x)``::

        zeta_j(i) = (-1)^j beta_i He_{j-2}(b~_i),  beta_i = a_i phi(b~_i),  b~_i = xi_i b_i,

    so the unit is read in the orientation of ``w~_i`` (the sign symmetry
    ``sigma(t) - sigma(-t) = t`` leaves every ``f_j``, ``j >= 2``, unchanged).

    * ``ell = 1``: ``b~ = -zeta_3 / zeta_2`` and ``a = sqrt(2 pi) zeta_2 exp(b~^2 / 2)``
      (orders 2 and 3, as printed).
    * ``ell >= 2``: orders ``ell .. ell + 3``; with
      ``q = argmax_{j in {ell+1, ell+2}} |zeta_j|`` the recurrence
      ``He_{n+1}(x) = x He_n(x) - n He_{n-1}(x)`` at ``n = q - 2`` gives::

          b~ = -(zeta_{q+1} + (q - 2) zeta_{q-1}) / zeta_q,
          a  = sqrt(2 pi) (-1)^q zeta_q exp(b~^2 / 2) / He_{q-2}(b~).

      The printed Algorithm 2 / Lemma 4.5 have ``q`` and ``He_q`` in place of
      ``q - 2`` and ``He_{q-2}``; that version is wrong (book, errata page).

    Parameters
    ----------
    directions : array_like of shape (m, d)
        The ``w~_i``, one per row (normalised here).
    tensors : mapping or sequence
        ``tensors[j]`` is the order-``j`` tensor of shape ``(d,) * j``, for
        ``j in {2, 3}`` (``ell = 1``) or ``j in {ell, ..., ell + 3}``.
    ell : int, default 1

    Returns
    -------
    TwoLayerNetwork
        ``a^T sigma(W~^T x + b~)``: the network up to the signs ``xi_i``
        (ATV21, Claim 4.6), with ``V = directions``.

    Raises
    ------
    ValueError
        On missing or ill-shaped tensors, non-finite values, or a coefficient
        ``zeta`` that vanishes (the unit is absent from the tensors).
        ``ell`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(4, 2, bias_scale=1.0, rng=0)
    >>> T = {j: rl.hermite_coefficients(net, j) for j in (2, 3)}
    >>> est = recover_scalars(net.V, T)
    >>> bool(np.allclose(est.b, net.b) and np.allclose(est.U, net.U))
    True
    """
    ell = as_degree(ell, "ell", low=1)
    W = _as_directions(directions)
    m, d = W.shape
    orders = (2, 3) if ell == 1 else tuple(range(ell, ell + 4))
    zeta = {j: _coefficients_against(W, _tensor_of_order(tensors, j, d), j) for j in orders}
    if ell == 1:
        # Algorithm 2, l = 1: zeta_2 = beta He_0 = beta, zeta_3 = -beta He_1(b~) = -beta b~
        if np.any(zeta[2] == 0):
            raise ValueError("tensors: the order-2 coefficient of some direction vanishes; "
                             "that direction is not a unit of the network")
        b = -zeta[3] / zeta[2]
        a = _SQRT_2PI * zeta[2] * np.exp(b**2 / 2)
    else:
        stacked = np.array([zeta[ell + 1], zeta[ell + 2]])  # (2, m)
        q = ell + 1 + np.argmax(np.abs(stacked), axis=0)  # Step 2 of Algorithm 2
        z_q = np.where(q == ell + 1, zeta[ell + 1], zeta[ell + 2])
        z_next = np.where(q == ell + 1, zeta[ell + 2], zeta[ell + 3])
        z_prev = np.where(q == ell + 1, zeta[ell], zeta[ell + 1])
        if np.any(z_q == 0):
            raise ValueError("tensors: both middle coefficients of some direction vanish; "
                             "that direction is not a unit of the network")
        # He_{n+1} = x He_n - n He_{n-1} with n = q - 2 (consistent index, Lemma 3.5)
        b = -(z_next + (q - 2) * z_prev) / z_q
        he = np.array([hermite_prob(int(qi) - 2, bi) for qi, bi in zip(q, b)])
        a = _SQRT_2PI * (-1.0) ** q * z_q * np.exp(b**2 / 2) / he
    return TwoLayerNetwork(a[None, :], W, b)


def fix_signs(net: TwoLayerNetwork, f1: ArrayLike) -> TwoLayerNetwork:
    """Fix the signs of the units from the first Hermite coefficient (ATV21, Algorithm 3).

    Solve ``sum_i z_i a~_i w~_i = f_1`` and flip unit ``i`` to
    ``(a~_i, xi_i b~_i, xi_i w~_i)`` with ``xi_i = sign(z_i)``. With exact
    ``f_1 = sum_i a_i Phi(b_i) w_i`` and linearly independent ``w_i``, the
    solution is ``z_i = xi_i Phi(b_i)`` (proof of Theorem 4.1), whose sign is
    the sign error ``xi_i`` because ``0 < Phi < 1``.

    Parameters
    ----------
    net : TwoLayerNetwork
        Single-output network ``a~, W~, b~`` (e.g. from :func:`recover_scalars`).
    f1 : array_like of shape (d,)
        First Hermite coefficient ``E[f(x) x]`` (exact or estimated).

    Returns
    -------
    TwoLayerNetwork

    Raises
    ------
    ValueError
        On shapes, a multi-output network, or ``k > d`` (the system is then
        underdetermined and the signs are not identifiable, Claim 4.8).

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(4, 2, bias_scale=1.0, rng=0)
    >>> flipped = rl.TwoLayerNetwork(net.U, -net.V, -net.b)
    >>> fixed = fix_signs(flipped, rl.hermite_coefficients(net, 1))
    >>> bool(np.allclose(fixed.V, net.V) and np.allclose(fixed.b, net.b))
    True
    """
    as_network(net, "net")
    if net.m != 1:
        raise ValueError(f"net: expected a single-output network, got m={net.m} outputs")
    if net.k > net.d:
        raise ValueError(
            f"net: Algorithm 3 needs k <= d linearly independent units, got k={net.k} > d={net.d}"
        )
    f1 = as_finite_array(f1, "f1", shape=(net.d,))
    unit = net.normalized()
    A = unit.V.T * unit.U[0][None, :]  # columns a~_i w~_i
    z = np.linalg.lstsq(A, f1, rcond=None)[0]  # Step 1 of Algorithm 3
    xi = np.where(z < 0, -1.0, 1.0)  # Step 2
    return TwoLayerNetwork(unit.U, xi[:, None] * unit.V, xi * unit.b)


# ---------------------------------------------------------------------------
# Algorithm 1, population
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Algorithm1Result:
    """Outcome of :func:`recover_from_coefficients` (ATV21, Algorithm 1).

    Attributes
    ----------
    network : TwoLayerNetwork
        Recovered network. For ``ell = 1`` the signs are fixed (Theorem 4.1);
        for ``ell >= 2`` it is correct only up to the signs ``xi_i`` of
        Theorem 4.2: unit ``i`` may be ``(a_i, -w_i, -b_i)``.
    ell : int
    rank_odd, rank_even : int
        Ranks ``k'`` and ``k''`` of the flattenings of ``f_{2l+1}`` and
        ``f_{2l+2}`` (Steps 2 and 3): units whose bias is a root of
        ``He_{2l-1}`` resp. ``He_{2l}`` are missing from them.
    directions_odd, directions_even : ndarray of shapes (k', d), (k'', d)
        The unit directions found by Jennrich in each tensor (up to sign).
    signs_fixed : bool
        Whether Algorithm 3 was applied (``ell = 1``).
    """

    network: TwoLayerNetwork
    ell: int
    rank_odd: int
    rank_even: int
    directions_odd: np.ndarray
    directions_even: np.ndarray
    signs_fixed: bool


def _jennrich_directions(T, ell, d, rank, rng, n_trials):
    """Steps 2/3 of Algorithm 1: unit directions of the rank-one terms of a flattened tensor."""
    if rank == 0:
        return np.zeros((0, d))
    cp = jennrich(T, rank, rng=rng, n_trials=n_trials)
    A = cp.factors[0]
    return np.array([_direction_from_factor(A[:, r], d) for r in range(rank)])


def recover_from_coefficients(
    coefficients: Sequence[ArrayLike], *, ell: int = 1,
    rng: int | np.random.Generator | None = None, n_trials: int = 5,
) -> Algorithm1Result:
    """ATV21, Algorithm 1, from exact Hermite coefficients (the population setting).

    Parameters
    ----------
    coefficients : sequence of arrays
        ``coefficients[t] = f_t`` of shape ``(d,) * t`` for ``t = 0, ..., 2 ell + 2``
        (e.g. ``[rl.hermite_coefficients(net, t) for t in range(2 * ell + 3)]``).
    ell : int, default 1
        ``ell = 1``: full-rank setting, Theorem 4.1, exact recovery including
        signs. ``ell >= 2``: overcomplete setting (``w_i^{(x) ell}`` linearly
        independent), Theorem 4.2, recovery up to signs.
    rng : None, int or numpy.random.Generator
        For Jennrich's random contractions.
    n_trials : int, default 5
        Random contractions per Jennrich call; the best-separated is kept.

    Returns
    -------
    Algorithm1Result

    Raises
    ------
    ValueError
        On missing, ill-shaped or non-finite tensors; if the flattenings have
        rank above ``d^ell`` or no units are found; for ``ell = 1``, if more
        than ``d`` distinct directions are found.
        ``n_trials`` above ``MAX_REPETITIONS`` (10**6) is refused before any work.
        ``ell`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(5, 3, bias_scale=1.0, rng=0)
    >>> f = [rl.hermite_coefficients(net, t) for t in range(5)]
    >>> res = recover_from_coefficients(f, rng=1)
    >>> rl.parameter_error(net, res.network) < 1e-12
    True
    """
    ell = as_degree(ell, "ell", low=1)
    rng = as_rng(rng)
    n_trials = as_repetitions(n_trials, "n_trials")
    if isinstance(coefficients, (str, bytes, dict)) or not hasattr(coefficients, "__len__"):
        raise InputTypeError(
            f"coefficients: expected a sequence of the tensors f_0, ..., f_{2 * ell + 2}, "
            f"got {describe(coefficients)}"
        )
    if len(coefficients) < 2 * ell + 3:
        raise ValueError(
            f"coefficients: expected the tensors f_0, ..., f_{2 * ell + 2} (length {2 * ell + 3}), "
            f"got {describe(coefficients)}"
        )
    f1 = as_finite_array(coefficients[1], "coefficients[1]", ndim=1)
    d = f1.shape[0]
    tensors = {t: as_finite_array(coefficients[t], f"coefficients[{t}]", shape=(d,) * t)
               for t in range(2, 2 * ell + 3)}
    # Step 1: T' = flatten(f_{2l+1}, l, l, 1), T'' = flatten(f_{2l+2}, l, l, 2)
    T_odd = flatten(tensors[2 * ell + 1], ell, ell, 1)
    T_even = flatten(tensors[2 * ell + 2], ell, ell, 2)
    # Steps 2-3: ranks of the flattenings (l, l+1) and (l, l+2), then Jennrich
    rank_odd = flattening_rank(T_odd)
    rank_even = flattening_rank(T_even)
    for name, r in (("f_{2l+1}", rank_odd), ("f_{2l+2}", rank_even)):
        if r > d**ell:
            raise ValueError(
                f"coefficients: the flattening of {name} has rank {r} > d^ell = {d**ell}; "
                "the tensors do not come from a network with linearly independent w_i^(x)ell"
            )
    U_odd = _jennrich_directions(T_odd, ell, d, rank_odd, rng, n_trials)
    U_even = _jennrich_directions(T_even, ell, d, rank_even, rng, n_trials)
    # Step 4: union, without duplicates and antipodal pairs
    W = _remove_antipodal_duplicates(np.vstack([U_odd, U_even]))
    if W.shape[0] == 0:
        raise ValueError("coefficients: no rank-one terms found; f_{2l+1} and f_{2l+2} vanish")
    if ell == 1 and W.shape[0] > d:
        raise ValueError(f"coefficients: found {W.shape[0]} > d = {d} directions for ell = 1")
    # Step 5: Algorithm 2 with the consistent index
    net = recover_scalars(W, tensors, ell)
    # Step 6: Algorithm 3 (full-rank setting only)
    if ell == 1:
        net = fix_signs(net, f1)
    return Algorithm1Result(net, ell, rank_odd, rank_even, U_odd, U_even, ell == 1)


# ---------------------------------------------------------------------------
# Finite samples, l = 1
# ---------------------------------------------------------------------------
#: Why the full-rank algorithm refuses ``k > d`` (``as_recovery_problem``'s ``k_message``).
K_FULL_RANK = (
    "k: the full-rank (l = 1) algorithm needs k <= d linearly independent units, got k={k} > d={d}"
)


def _hermite2_form(Z, T2):
    """``<T_2, He_2(z)> = z^T T_2 z - tr T_2`` for each row ``z`` of ``Z``."""
    return np.sum((Z @ T2) * Z, axis=1) - np.trace(T2)


def _symmetric_contractions(T: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``T[u, ..., u]`` for each row ``u`` of ``directions`` (``T`` of any order ``j``)."""
    m, k = directions.shape
    c = T.reshape(-1, k) @ directions.T  # contract the last index: (k^(j-1), m)
    c = c.T.reshape(m, -1)
    while c.shape[1] > 1:  # then the others, one at a time
        c = np.einsum("ma,mab->mb", directions, c.reshape(m, k, -1))
    return c[:, 0]


def _select_directions(candidates, k, tensors):
    """Greedy choice of ``k`` candidate directions that best explain the tensors.

    With sample tensors Jennrich returns ``k`` directions per order even when a
    bias sits at a root of ``He_1`` or ``He_2`` (the missing term is replaced by
    a noise direction), and a unit present in both orders is found twice. Step 4
    of Algorithm 1 ("remove duplicates") becomes: add, one at a time, the
    candidate that most reduces the joint residual of ``T_2, T_3, T_4``, the
    sum over the orders ``j`` of ``|T_j - sum_i zeta_i u_i^{(x) j}| / |T_j|``
    with the least-squares ``zeta`` [reconstructed].

    The least squares never forms the ``k^j x |S|`` matrix of the ``u_i^{(x) j}``:
    its normal equations need only ``<u^{(x) j}, v^{(x) j}> = (u . v)^j`` and
    ``<T_j, u^{(x) j}> = T_j[u, ..., u]``, so that, with ``c_S`` these contractions
    and ``G_S`` the Gram matrix of the chosen set ``S``, the squared residual is
    ``|T_j|^2 - c_S^T G_S^+ c_S``. The contractions are computed once for all
    candidates (``O(k^j)`` each), and each step scores every candidate at once
    from one solve with ``G_S`` (the gain of adding ``c`` is
    ``(c_c - g_cS^T G_S^-1 c_S)^2 / (G_cc - g_cS^T G_S^-1 g_cS)``), instead of a
    least-squares solve against the ``k^j`` entries per candidate (at
    ``k = 20``, 160 000 for ``T_4``). A candidate whose power ``u^{(x) j}`` is
    within rounding (Schur complement below ``1e-12`` of ``G_cc``) of the span
    of those chosen (a near-duplicate) adds nothing to the fit of that order.
    """
    C = np.asarray(candidates, dtype=float)
    p = C.shape[0]
    dots = C @ C.T
    orders = []
    for j, T in tensors.items():
        gram = dots**j
        norm2 = float(np.sum(T * T))
        # per order: Gram matrix, contractions, |T_j|^2, the chosen candidates that add a
        # new direction in this order (a basis), and the part of |T_j|^2 they explain
        orders.append([gram, _symmetric_contractions(T, C), norm2, [], 0.0])
    chosen = []
    available = np.ones(p, dtype=bool)
    for _ in range(k):
        # residual of S + {c} for every candidate c at once: the least squares on S's
        # basis explains `explained`; c adds (c_c - g_cS^T G_SS^-1 c_S)^2 / schur_c,
        # schur_c = G_cc - g_cS^T G_SS^-1 g_cS (nothing if schur_c is at rounding level)
        objective = np.zeros(p)
        new = []
        for gram, c, norm2, basis, explained in orders:
            diag = np.diag(gram)
            if basis:
                B = np.linalg.solve(gram[np.ix_(basis, basis)], gram[basis])
                schur = diag - np.einsum("ip,ip->p", gram[basis], B)
                part = c - B.T @ c[basis]
            else:
                schur, part = diag.copy(), c.copy()
            adds = schur > 1e-12 * diag
            gain = np.where(adds, part**2 / np.where(adds, schur, 1.0), 0.0)
            if norm2 > 0:
                objective += np.sqrt(np.maximum(norm2 - explained - gain, 0.0) / norm2)
            new.append((adds, gain))
        objective[~available] = np.inf
        best = int(np.argmin(objective))  # the first of equal ones, as min() over a list
        chosen.append(best)
        available[best] = False
        for order, (adds, gain) in zip(orders, new):
            if adds[best]:
                order[3].append(best)
                order[4] += gain[best]
    return C[chosen]


def moment_estimate(
    X: ArrayLike, Y: ArrayLike, k: int, *, rng: int | np.random.Generator | None = None,
    n_trials: int = 10, chunk_size: int | None = None,
) -> TwoLayerNetwork:
    """The tensor stage of ATV21 on samples (``l = 1``): Algorithm 1 fed with moment estimates.

    1. ``T_0 = mean(y)``, ``T_1 = mean(y x)``, ``T_2 = mean(y (x x^T - I))``
       (streamed, ``O(n d^2)``); residualise ``r = y - T_0 - x.T_1``, which
       leaves every order ``>= 2`` unchanged and cuts the variance.
    2. ``P`` = top-``k`` eigenvectors (by modulus) of ``T_2`` (rank ``k``:
       its coefficients ``a_i phi(b_i)`` never vanish), ``z = P^T x``.
    3. Projected ``T_3``, ``T_4`` (``k^3``, ``k^4`` entries) from ``z`` and ``r``;
       Jennrich on the slices of ``T_3`` and on those of ``T_4``
       (:func:`relulib.jennrich_slices`), with the order-2 tensor as the
       reference slice: ``T_3[., ., g] T_2^{-1}`` has eigenvectors ``u_i`` and
       eigenvalues ``-b_i (u_i.g)``, and ``T_2`` is well conditioned because no
       ``a_i phi(b_i)`` vanishes [reconstructed: plain Jennrich, with a second
       random slice of the same noisy tensor as reference, was markedly less
       accurate at ``n = 3e5``]. The best-separated of ``n_trials`` random
       contractions is kept.
    4. Union of the ``2k`` directions, reduced greedily to the ``k`` that best
       explain ``T_2, T_3, T_4``; Algorithm 2 (``l = 1``); lift ``w = P u``;
       Algorithm 3 with ``T_1``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, 1)
    k : int
        Number of hidden units, ``k <= d``.
    rng : None, int or numpy.random.Generator
    n_trials : int, default 10
    chunk_size : int or None, default None
        Samples per streamed block; ``None``: blocks of about 1 MiB, as in
        :func:`projected_moments`.

    Returns
    -------
    TwoLayerNetwork
        An estimate whose error decays like ``n^{-1/2}`` (not exact). Its fit
        residual against the sample moments is
        ``moment_fit_residual(net, projected_moments(X, Y, k))``
        (:func:`moment_fit_residual`).

    Raises
    ------
    ValueError
        On bad shapes, non-finite values, multi-output ``Y``, ``k > d``, fewer
        than ``d (d + 1) / 2 + 1`` samples, or moments that overflow.
        ``n_trials`` above ``MAX_REPETITIONS`` (10**6) is refused before any work.

    See Also
    --------
    projected_moments : Its first stage.
    tensor_stage : Its second stage.
    recover_with_bias : The estimate polished to exactness.

    References
    ----------
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.
    """
    if is_dask_array(X) or is_dask_array(Y):  # moments by reduction, the rest in memory
        from . import scaleout  # scaleout imports this module

        X, y, k = scaleout.as_dask_problem(X, Y, k, k_message=K_FULL_RANK, single_output=True)
    else:
        X, y, k = as_recovery_problem(X, Y, k, k_message=K_FULL_RANK, single_output=True)
    n, d = X.shape
    if n < d * (d + 1) // 2 + 1:
        # Fewer samples than distinct entries of T_2: its top-k eigenvectors are noise.
        raise ValueError(
            f"X: expected at least d (d + 1) / 2 + 1 = {d * (d + 1) // 2 + 1} samples (the "
            f"distinct entries of the second moment T_2, plus one), got n={n}"
        )
    rng = as_rng(rng)
    n_trials = as_repetitions(n_trials, "n_trials")
    chunk = chunk_rows(X.shape[1]) if chunk_size is None else as_positive_int(chunk_size, "chunk_size")
    moments = _sample_moments(X, y, k, chunk)
    return _tensor_stage(moments, rng, n_trials, 0)


def moment_fit_residual(net: TwoLayerNetwork, moments: "ProjectedMoments") -> float:
    """Relative residual of the projected moments against the rank-``k`` model of ``net``.

    For each order ``j = 2, 3, 4`` the projected tensor ``T_j`` of ``moments``
    is fitted in least squares by ``sum_i c_i u_i^{(x) j}``, with
    ``u_i = P^T w_i`` the network's directions projected onto the basis
    ``P`` (free coefficients ``c``: the model ATV21's tensor stage fits).
    Returns ``sqrt(sum_j |T_j - fit_j|_F^2 / sum_j |T_j|_F^2)``: 0 for moments
    that the directions explain exactly, of the order of the sampling error
    ``n^{-1/2}`` (relative to the moments' size) for a good estimate, and
    close to 1 for directions unrelated to the moments. The fit residual of
    :func:`moment_estimate` (which returns only the network).

    Parameters
    ----------
    net : TwoLayerNetwork
        With ``d`` equal to the moments' input dimension (``moments.P.shape[0]``).
    moments : ProjectedMoments
        From :func:`projected_moments`.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        ``net`` not a :class:`relulib.TwoLayerNetwork` or ``moments`` not a
        :class:`ProjectedMoments`.
    ValueError
        ``net.d`` other than the dimension of the moments.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(5, 2, bias_scale=1.0, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 100_000, rng=1)
    >>> mom = rl.projected_moments(X, Y, 2)
    >>> est = rl.moment_estimate(X, Y, 2, rng=2)
    >>> rl.moment_fit_residual(est, mom) < 0.05 < rl.moment_fit_residual(rl.random_network(5, 2, rng=3), mom)
    True
    """
    net = as_network(net, "net")
    if not isinstance(moments, ProjectedMoments):
        raise InputTypeError(
            f"moments: expected a ProjectedMoments (from projected_moments), got {describe(moments)}"
        )
    if net.d != moments.P.shape[0]:
        raise ValueError(f"net: expected d={moments.P.shape[0]} inputs (the moments'), got d={net.d}")
    Up = net.V @ moments.P  # rows u_i = P^T w_i
    num = den = 0.0
    for j, T in ((2, moments.T2p), (3, moments.T3p), (4, moments.T4p)):
        A = _power_columns(Up, j)
        t = T.reshape(-1)
        coef = np.linalg.lstsq(A, t, rcond=None)[0]
        num += float(np.sum((t - A @ coef) ** 2))
        den += float(np.sum(t * t))
    return float(np.sqrt(num / den)) if den > 0 else float(np.sqrt(num))


@dataclass(frozen=True)
class ProjectedMoments:
    """Residualised, projected sample moments: the input of ATV21's tensor stage.

    Made by :func:`projected_moments`, consumed by :func:`tensor_stage` (any
    number of times: the moments are the expensive part, ``O(n d^2)``).

    Attributes
    ----------
    T1 : ndarray of shape (d,)
        ``mean(y x)``, for the sign step (Algorithm 3 of ATV21).
    P : ndarray of shape (d, k)
        Orthonormal basis of the top-``k`` eigenvectors (by modulus) of ``T_2`` of
        the residualised labels ``r = y - T_0 - x.T_1``.
    T2p, T3p, T4p : ndarray of shapes (k, k), (k, k, k), (k, k, k, k)
        ``T_2, T_3, T_4`` of the residualised labels, projected onto ``P``
        (the full Hermite tensors of ``z = P^T x``).
    """

    T1: np.ndarray
    P: np.ndarray
    T2p: np.ndarray
    T3p: np.ndarray
    T4p: np.ndarray


def projected_moments(
    X: ArrayLike, Y: ArrayLike, k: int, *, chunk_size: int | None = None,
    rows: ArrayLike | None = None,
) -> ProjectedMoments:
    """Step 1 of :func:`moment_estimate`: streamed, residualised, projected moments (ATV21, eq. (6)).

    ``T_0, T_1`` are streamed over chunks of samples; the labels are
    residualised, ``r = y - T_0 - x.T_1`` (every order ``>= 2`` unchanged,
    smaller variance), and ``T_2`` of ``r`` is streamed next; ``P`` holds its
    top-``k`` eigenvectors and ``T2p = P^T T_2 P``. Then the projected ``T_3``
    and ``T_4`` of ``r - <T2p, He_2(z)>/2`` (``z = P^T x``; each order
    unchanged in expectation, much smaller variance [reconstructed]), both
    from one weighted Gram of the monomials of ``z`` up to degree 2, in one
    streamed pass of ``O(n (d k + k^4 / 4))``. Three passes in all, one of
    them a ``d x d`` Gram.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, 1)
    k : int
        Number of hidden units, ``k <= d``.
    chunk_size : int or None, default None
        Samples per streamed block; ``None``: blocks of about 1 MiB
        (``max(256, 2**17 // d)`` samples), so that the call adds little
        memory to that of ``X``.
    rows : array_like of int, optional
        The moments of the samples ``X[rows]``, ``Y[rows]`` only (e.g. a
        training part), fancy-indexed a chunk at a time: no copy of
        ``X[rows]`` is made, and the result is that of
        ``projected_moments(X[rows], Y[rows], k)``, bit for bit. In-memory
        arrays only.

    Returns
    -------
    ProjectedMoments

    Raises
    ------
    ValueError
        On bad shapes, non-finite values, multi-output ``Y``, ``k > d``,
        ``rows`` not indices in ``[0, n)`` or ``rows`` with Dask arrays.
    TypeError
        ``chunk_size`` not a positive integer or None (``ValueError`` if it is
        below 1).

    See Also
    --------
    tensor_stage : The stage that decomposes these moments.
    HermiteMomentAccumulator : The streamed moment estimates.
    empirical_hermite_tensor : The full (unprojected) tensors.

    References
    ----------
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(6, 2, bias_scale=1.0, rng=0)
    >>> X, y = rl.gaussian_samples(net, 20_000, rng=1)
    >>> mom = projected_moments(X, y, 2)
    >>> mom.P.shape, mom.T4p.shape
    ((6, 2), (2, 2, 2, 2))
    """
    chunk = None if chunk_size is None else as_positive_int(chunk_size, "chunk_size")
    if is_dask_array(X) or is_dask_array(Y):  # each pass a reduction over the row blocks
        from . import scaleout  # scaleout imports this module

        if rows is not None:
            raise ValueError("rows: expected None with Dask arrays (select the rows with "
                             "X[rows] first), got an index array")
        X, y, k = scaleout.as_dask_problem(X, Y, k, k_message=K_FULL_RANK, single_output=True)
    else:
        X, y, k = as_recovery_problem(X, Y, k, k_message=K_FULL_RANK, single_output=True)
        if rows is not None:
            rows = as_row_indices(rows, X.shape[0])
    return _sample_moments(X, y, k, chunk_rows(X.shape[1]) if chunk is None else chunk, rows=rows)


def _residual_labels(xb, yb, *, T0, T1):
    """``(x, r)`` of a block: ``r = y - T_0 - x.T_1``, the labels without their degree-0 and
    degree-1 Hermite parts (every ``T_j``, ``j >= 2``, unchanged in expectation, and a
    much smaller variance) [reconstructed; see :func:`projected_moments`]."""
    y = yb[:, 0] if yb.ndim == 2 else yb
    r = y - T0 - xb @ T1
    return xb, check_finite_result(r, "the residualised labels y - T_0 - x.T_1")


def _projected_labels(xb, yb, *, P, T0, T1, T2p=None):
    """``(z, r)`` of a block: ``z = P^T x`` and the residualised labels of ATV21's moment stage.

    ``r = y - T_0 - x.T_1`` (:func:`_residual_labels`); with ``T2p`` also
    ``- <T_2, He_2(z)> / 2`` (for ``T_3`` and ``T_4``) [reconstructed; see
    :func:`projected_moments`].
    """
    _, r = _residual_labels(xb, yb, T0=T0, T1=T1)
    z = xb @ P
    if T2p is not None:
        r = r - 0.5 * _hermite2_form(z, T2p)
    return z, r


def _moment_passes(run_pass, d, k) -> ProjectedMoments:
    """ATV21's moment stage as three streamed passes; ``run_pass(accumulator, transform)``
    adds every (training) block, ``transform(x_block, y_block) -> (inputs, labels)``
    applied first, and returns the accumulator (in memory: :func:`_sample_moments`;
    Dask arrays: a reduction, :func:`relulib.reduce_moments`).

    1. ``T_0, T_1`` (ATV21, eq. (6)): sums of ``y`` and ``y x`` only, ``O(n d)``.
    2. ``T_2`` of the residualised labels ``r = y - T_0 - x.T_1`` (one Gram pass);
       ``P`` = its top-``k`` eigenvectors by modulus (the span of the ``w_i``), and
       the projected ``T_2`` is ``P^T T_2 P``. (The labels' own ``T_2`` is the same in
       expectation, but the noise of their degree-0 and degree-1 parts tilts its top-``k``
       eigenspace much further from the span of the ``w_i``; the tests check the angle.)
    3. The projected ``T_3`` and ``T_4`` of ``r - <T_2, He_2(z)> / 2``, ``z = P^T x``,
       both from one weighted Gram of the monomials of ``z`` up to degree 2
       (:class:`relulib.ProjectedMomentAccumulator` on ``z``, ``P = I``); ``T_3``
       symmetrised. (Removing the estimated degree-3 part as well before ``T_4``, a
       fourth pass, is not reliably more accurate: a little better on some draws,
       much worse on others, as the noise of the estimated ``T_3`` comes back in;
       the tests compare the three.)
    """
    acc = run_pass(HermiteMomentAccumulator(d, order2=False), None)
    T0, T1 = acc.T0()[0], check_finite_result(acc.T1()[0], "the first moment E[y x]")
    labels = functools.partial(_residual_labels, T0=T0, T1=T1)
    T2 = run_pass(HermiteMomentAccumulator(d), labels).T2()[0]
    T2 = check_finite_result(T2, "the second moment E[r (x x^T - I)] of the residualised labels")
    evals, evecs = np.linalg.eigh(T2)
    P = evecs[:, np.argsort(-np.abs(evals))[:k]]
    T2p = P.T @ T2 @ P
    T2p = (T2p + T2p.T) / 2.0  # the projected T_2 of r (P^T P = I), exactly symmetric
    T3p, T4p = _projected_passes(
        run_pass, k, functools.partial(_projected_labels, P=P, T0=T0, T1=T1), T2p)
    return ProjectedMoments(T1, P, T2p, T3p, T4p)


def _projected_passes(run_pass, k, labels, T2p):
    """Pass 3 of :func:`_moment_passes`: the projected ``T_3, T_4`` from ONE weighted
    Gram of the monomials of ``z`` up to degree 2 (about ``k^4 / 4`` multiply-adds per
    sample, :class:`relulib.ProjectedMomentAccumulator` on ``z`` with ``P = I``), of
    the labels without their degree-0, 1 and 2 parts (``labels`` as
    :func:`_projected_labels`)."""
    acc = run_pass(ProjectedMomentAccumulator(np.eye(k)), functools.partial(labels, T2p=T2p))
    _, T3, T4p = acc.moments()
    T3p = (T3 + T3.transpose(1, 2, 0) + T3.transpose(2, 0, 1)) / 3.0  # exactly symmetric
    return T3p, T4p


def _projected_moments(X, r, P, chunk):
    """The projected ``T_2, T_3, T_4`` in memory on given labels ``r`` (already without
    degrees 0 and 1) and a given ``P`` (for tests)."""
    def run_pass(acc, transform):
        for start in range(0, X.shape[0], chunk):
            acc.update(*transform(X[start : start + chunk], r[start : start + chunk]))
        return acc

    labels = functools.partial(_projected_labels, P=P, T0=0.0, T1=np.zeros(X.shape[1]))
    T2p = run_pass(HermiteMomentAccumulator(P.shape[1]), labels).T2()[0]
    return (T2p, *_projected_passes(run_pass, P.shape[1], labels, T2p))


def _sample_moments(X, y, k, chunk, rows=None, split=None) -> ProjectedMoments:
    """:func:`projected_moments` without validation (for validated callers).

    With ``rows`` (an index array), the moments of the samples ``X[rows]``,
    fancy-indexed one chunk at a time: no copy of ``X[rows]`` is made. Dask
    arrays: each pass is a reduction over the row blocks on the active
    scheduler, leaving out the held-out rows of ``split`` (from
    ``relulib.scaleout.draw_split``).
    """
    if is_dask_array(X):
        from . import scaleout  # scaleout imports this module

        def run_pass(acc, transform):
            return scaleout.reduce_moments(X, y, acc, transform=transform, split=split)
    else:
        n = X.shape[0]

        def run_pass(acc, transform):
            for _, sel in row_blocks(n, chunk, rows):
                xb, yb = X[sel], y[sel]
                acc.update(*((xb, yb) if transform is None else transform(xb, yb)))
            return acc

    return _moment_passes(run_pass, X.shape[1], k)


#: The restart schedule of the tensor stage (the one home of it): attempt ``j``
#: uses the orders ``_RESTART_ORDERS[j % 5]``; "union" means orders 3 and 4 together.
_RESTART_ORDERS = ("union", "order3", "order4", "union", "union")


def tensor_stage(
    moments: ProjectedMoments, *, attempt: int = 0,
    rng: int | np.random.Generator | None = None, n_trials: int = 10,
) -> TwoLayerNetwork:
    """Steps 2-6 of ATV21's Algorithm 1 on projected sample moments: a rough network.

    Jennrich on the slices of the projected ``T_3`` and/or ``T_4`` with ``T_2``
    as the reference slice, each answer also refined by ten sweeps of
    alternating least squares on all the slices of its order (both kept as
    candidates), the greedy reduction of the candidate directions
    to the ``k`` that best explain ``T_2, T_3, T_4``, Algorithm 2 (``l = 1``),
    the lift ``w = P u`` and Algorithm 3 with ``T_1`` (see
    :func:`moment_estimate`). Used by :func:`recover_with_bias` and, for its
    initial estimates with ``bias=True``, by :func:`relulib.recover_noisy`.

    Parameters
    ----------
    moments : ProjectedMoments
        From :func:`projected_moments`.
    attempt : int, default 0
        Position in the restart schedule, which picks the tensor orders:
        orders 3 and 4 together (attempts 0, 3, 4), order 3 alone (attempt 1),
        order 4 alone (attempt 2), then again from the start (attempt 5 is
        attempt 0). A restart also draws fresh random contractions from ``rng``.
    rng : None, int or numpy.random.Generator
    n_trials : int, default 10
        Random contractions per Jennrich call; the best separated is kept.

    Returns
    -------
    TwoLayerNetwork
        One output, unit-norm rows of ``V``; an estimate whose error decays
        like ``n^{-1/2}`` (not exact).

    Raises
    ------
    TypeError
        If ``moments`` is not a :class:`ProjectedMoments`, or ``attempt`` or
        ``n_trials`` is not an integer.
    ValueError
        If ``attempt`` is negative, ``n_trials`` below 1 or ``rng`` bad;
        ``ValueError`` or ``numpy.linalg.LinAlgError`` from a degenerate draw (the
        callers restart). ``n_trials`` above ``MAX_REPETITIONS`` (10**6) is
        refused before any work.

    See Also
    --------
    projected_moments : Its input.
    moment_estimate : Both stages in one call.
    jennrich : The tensor decomposition it runs.

    References
    ----------
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(6, 2, bias_scale=1.0, rng=0)
    >>> X, y = rl.gaussian_samples(net, 200_000, rng=1)
    >>> rough = tensor_stage(projected_moments(X, y, 2), rng=2)
    >>> bool(rl.parameter_error(net, rough) < 0.3)
    True
    """
    if not isinstance(moments, ProjectedMoments):
        raise InputTypeError(f"moments: expected a ProjectedMoments (from projected_moments), "
                        f"got {type(moments).__name__}")
    attempt = as_nonnegative_int(attempt, "attempt")
    return _tensor_stage(moments, as_rng(rng), as_repetitions(n_trials, "n_trials"), attempt)


@single_blas_thread  # small eigen- and least-squares problems: one BLAS thread is faster
def _tensor_stage(mom: ProjectedMoments, rng, n_trials, attempt) -> TwoLayerNetwork:
    """:func:`tensor_stage` without validation (for validated callers)."""
    source = _RESTART_ORDERS[attempt % len(_RESTART_ORDERS)]
    T2p, T3p, T4p = mom.T2p, mom.T3p, mom.T4p
    k = T2p.shape[0]
    # Steps 2-3 of Algorithm 1, with T_2 as the reference slice [reconstructed]
    slices = {
        "order3": np.moveaxis(T3p, -1, 0),  # T_3[., ., e_g]
        "order4": T4p.reshape(k, k, k * k).transpose(2, 0, 1),  # T_4[., ., e_g, e_h]
    }
    use = ("order3", "order4") if source == "union" else (source,)
    found = [jennrich_slices(slices[s], T2p, k, rng=rng, n_trials=n_trials) for s in use]
    # ... each answer also refined by ten ALS sweeps on all slices of its order (Jennrich
    # uses two random combinations of them); both kept, since a unit missing from an
    # order (a bias at a Hermite root) can drift under ALS [reconstructed]
    refined = [slice_als(slices[s], A, 10) for s, A in zip(use, found)]
    candidates = np.hstack(found + refined).T
    # Step 4 (reconstructed for noisy tensors): greedy union
    U = _select_directions(candidates, k, {2: T2p, 3: T3p, 4: T4p})
    # Step 5: Algorithm 2 in the projected coordinates, then lift to R^d
    # (Algorithm 2, l = 1, inlined so that noisy ratios can be clipped: a bias
    # estimate beyond |b| = 4 is noise, and exp(b^2 / 2) would overflow)
    z2 = _coefficients_against(U, T2p, 2)
    z3 = _coefficients_against(U, T3p, 3)
    b = np.clip(-z3 / np.where(z2 == 0, np.finfo(float).tiny, z2), -4.0, 4.0)
    a = _SQRT_2PI * z2 * np.exp(b**2 / 2)
    net = TwoLayerNetwork(a[None, :], U @ mom.P.T, b)
    # Step 6: Algorithm 3
    return fix_signs(net, mom.T1)


#: Tensor-stage starts drawn by :func:`recover_with_bias` before polishing (two rounds
#: of ``_RESTART_ORDERS``), ranked by their :func:`relulib.relative_residual` on the
#: polishing samples.
_SCREENED_STARTS = 2 * len(_RESTART_ORDERS)


def recover_with_bias(
    X: ArrayLike, Y: ArrayLike, k: int, *, rng: int | np.random.Generator | None = None,
    holdout: float = 0.2, max_polish_samples: int | None = None,
    tolerance: float = CERTIFICATE_TOL, n_trials: int = 5,
) -> RecoveryResult:
    """Learn ``f(x) = a^T sigma(W^T x + b)`` from samples: ATV21 (``l = 1``) plus exact polishing.

    The samples are split into a training part and a held-out part. On the
    training part: :func:`moment_estimate` (Algorithms 1-3 of ATV21 on
    residualised, projected, streamed moments), then activation-pattern least
    squares (:func:`relulib.refine_by_patterns`, the polishing step) on at
    most ``max_polish_samples`` samples. On the held-out part: the
    certificate, the relative residual ``|y - f~(X)| / |y|``.

    On noiseless data from a network with linearly independent ``w_i``,
    ``a_i != 0`` and moderate biases, the result equals the network to
    rounding and the certificate is at rounding level. If the certificate
    exceeds ``tolerance`` a :class:`relulib.CertificateWarning` states the
    measured residual (noisy labels, too few samples for the tensor stage, or
    a network outside the assumptions); the best estimate is still returned.

    Reliability at scale [reconstructed]: the span ``P`` comes from the
    second moment of the labels without their degree-0 and degree-1 parts,
    and the projected third and fourth moments from labels with their
    estimated Hermite parts up to degree 2 removed (see
    :func:`projected_moments`), which about halves the median sampling error
    of ``T_3`` and ``T_4`` at ``(d, k) = (50, 10)``, ``n = 2e5``
    (``benchmarks/residualisation.py``); Jennrich's
    directions are refined by alternating least squares on all slices
    (:func:`tensor_stage`); and ten tensor-stage starts are ranked by the
    residual of their rough network before the best is polished, so that the
    polished start is usually inside the region from which polishing reaches
    the network (at ``(d, k) = (100, 20)``, ``n = 4e5``, as well).

    Noisy labels: when the certificate fails, the polished network is refined
    once more by pattern least squares on *all* training samples (not only
    the polishing subsample), and kept if its held-out residual is smaller:
    with noisy labels this is the least-squares estimate, whose error falls
    like ``n^{-1/2}``. The warning is still raised (the result is not exact);
    :func:`relulib.recover_noisy` with ``bias=True`` is the method meant for
    noisy data.

    Dask arrays chunked over rows (``pip install "relulib[dask]"``): every
    moment pass is a reduction over the row blocks on the active scheduler;
    the held-out rows (at most ``relulib.scaleout.SUBSAMPLE_ROWS``) and
    the polishing rows are drawn with ``rng`` and pulled into memory; the
    refinement on all training samples is skipped.

    Parameters
    ----------
    X : ndarray of shape (n, d), or a Dask array chunked over rows
    Y : ndarray of shape (n,) or (n, 1), or a Dask array chunked over rows
    k : int
        Number of hidden units, ``1 <= k <= d``.
    rng : None, int or numpy.random.Generator
        For the split and Jennrich's random contractions.
    holdout : float, default 0.2
        Fraction of samples kept for the certificate.
    max_polish_samples : int, optional
        Training samples used by the polishing least squares; default
        ``max(3000, 4 k (d + 1))``, about four samples per unknown (at least
        ``2 k (d + 1)`` are always used). On noiseless data more do not help:
        the solution is exact once the patterns are right.
    tolerance : float, default :data:`relulib.CERTIFICATE_TOL`
        The certificate accepts a held-out relative residual up to this value.
    n_trials : int, default 5
        Polishing attempts at most (the moments are computed once). Ten
        tensor-stage starts are drawn first (:func:`tensor_stage` with
        ``attempt = 0 ... 9``: orders 3 and 4 together, order 3 alone, order 4
        alone, each with fresh random contractions) and ranked by the relative
        residual of the rough network on the polishing samples; the best is
        polished, and if the polished network does not fit those samples to
        ``tolerance``, the next one, up to ``n_trials``; the best polished
        network is kept. The same name as in :func:`relulib.recover_noisy` and
        :func:`relulib.jennrich`: random tries, the best one kept.

    Returns
    -------
    RecoveryResult
        ``.network`` with unit-norm rows of ``V`` (ATV21's normalisation);
        ``.residual`` on the held-out samples, ``.certified``; ``.iterations``
        the polishing attempts run (at most ``n_trials``).

    Raises
    ------
    ValueError
        On bad shapes or non-finite values, multi-output ``Y``, ``k > d``, a
        ``holdout`` outside ``(0, 1)``, or too few samples
        (fewer than ``20 k (d + 1)`` training samples).
        Also ``tolerance`` not a positive finite number, ``n_trials`` or
        ``max_polish_samples`` below 1, a bad ``rng``, or no usable estimate from
        the tensor stage in any of the ``n_trials`` attempts. ``n_trials`` above
        ``MAX_REPETITIONS`` (10**6) is refused before any work.
    TypeError
        ``k``, ``n_trials`` or ``max_polish_samples`` not an integer, or
        ``holdout`` or ``tolerance`` not a number.

    Warns
    -----
    CertificateWarning
        When the held-out relative residual exceeds ``tolerance``.
    IdentifiabilityWarning
        For each finding of :func:`relulib.identifiability_diagnostics` on the
        result (units the samples do not determine), over the samples it was
        polished and certified on.

    See Also
    --------
    moment_estimate : The tensor-method estimate it polishes.
    refine_by_patterns : The polishing step.
    recover_from_coefficients : ATV21, Algorithm 1 on exact coefficients.

    Notes
    -----
    Measured limits (chapter "Limits of the methods", ``benchmarks/limits.py``;
    20 noiseless instances per setting, ``d = 8``, ``k = 4``, ``n = 10^5``
    unless stated): 20, 20 and 19 of 20 recovered at condition number 1, 10
    and 100 of ``V``; with ``|b_i|`` in ``[1, 2]``, ``[2, 3]``, ``[3, 4]``: 20,
    16, 0 of 20 (20, 14, 2 at ``n = 10^6``); all 20 at ``k = 7`` and at
    ``k = d = 8``. Biases beyond about 3
    need ATV21's large-bias treatment (:func:`large_bias_surrogate`). Every
    failure was flagged by the certificate. Results can differ in the last
    bits with the number of BLAS threads.

    References
    ----------
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(4, 2, bias_scale=1.0, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 100_000, rng=1)
    >>> est = recover_with_bias(X, Y, 2, rng=2)
    >>> est.certified, rl.parameter_error(net, est.network) < 1e-9
    (True, True)
    """
    dask = is_dask_array(X) or is_dask_array(Y)
    if dask:  # moments by reductions, polishing and certificate on rows pulled into memory
        from . import scaleout  # scaleout imports this module

        X, y, k = scaleout.as_dask_problem(X, Y, k, k_message=K_FULL_RANK, single_output=True)
    else:
        X, y, k = as_recovery_problem(X, Y, k, k_message=K_FULL_RANK, single_output=True)
    rng = as_rng(rng)
    holdout = as_real_scalar(holdout, "holdout", low=0.0, high=1.0, low_open=True, high_open=True,
                             what="a fraction")
    max_polish = None if max_polish_samples is None else as_positive_int(max_polish_samples, "max_polish_samples")
    tolerance = as_tolerance(tolerance)
    n_trials = as_repetitions(n_trials, "n_trials")
    n, d = X.shape
    n_hold = max(1, int(round(holdout * n)))
    n_train = n - n_hold
    needed = 20 * k * (d + 1)
    if n_train < needed:
        raise ValueError(
            f"X: expected at least {needed} training samples for k={k}, d={d} "
            f"(20 k (d + 1)), got {n_train} of n={n}"
        )
    if max_polish is None:
        max_polish = max(3000, 4 * k * (d + 1))
    m = min(n_train, max(max_polish, 2 * k * (d + 1)))
    if dask:
        # The held-out rows (at most SUBSAMPLE_ROWS of them) and the polishing rows are
        # drawn with rng and pulled into memory; the moments leave the held-out rows out.
        n_hold = min(n_hold, scaleout.SUBSAMPLE_ROWS)
        split, X_hold, y_hold, Xp, yp = scaleout.draw_split(X, y, rng, n_hold, m)
        moments = _sample_moments(X, y, k, None, split=split)

        def certificate(net):
            return relative_residual(net, X_hold, y_hold)
    else:
        perm = rng.permutation(n)
        train, hold = perm[:n_train], perm[n_train:]
        polish = train[:m].copy()  # a uniform random subset of the training rows
        # Moments and certificate stream over chunks of row indices (no copy of X[train]
        # or X[hold]); only the bounded polishing subsample is copied.
        # (the training rows sorted in place, a view of perm: the same sums, the
        # gathers read X front to back, and no second index array of n entries)
        train.sort()
        moments = _sample_moments(X, y, k, chunk_rows(d), rows=train)
        Xp, yp = X[polish], y[polish]

        def certificate(net):
            return relative_residual(net, X, y, rows=hold)
    # Polishing (appendix "How the algorithms were reconstructed"). A tensor-stage start
    # costs little next to a polishing run, so _SCREENED_STARTS of them (twice the restart
    # schedule) are drawn first and ranked by the residual of the rough network on the
    # polishing samples; the best is polished, and if the polished network does not fit
    # those samples, the next one [reconstructed].
    starts = []
    for attempt in range(_SCREENED_STARTS):
        try:
            rough = _tensor_stage(moments, rng, 10, attempt)
            with np.errstate(over="ignore", invalid="ignore"):
                score = relative_residual(rough, Xp, yp)
        except (ValueError, np.linalg.LinAlgError):  # a degenerate draw, or overflow: skip it
            continue
        starts.append((score, attempt, rough))
    starts.sort(key=lambda start: start[:2])
    best = None
    attempts = 0
    for _, _, rough in starts[:n_trials]:
        attempts += 1
        try:
            result = refine_by_patterns(rough, Xp, yp, max_iter=30)
        except (ValueError, np.linalg.LinAlgError):  # a degenerate start: try the next one
            continue
        if best is None or result.residual < best.residual:
            best = result
        if result.residual <= tolerance:
            break
    if best is None:
        raise ValueError(
            "X: the tensor stage produced no usable estimate in any attempt; "
            "use more samples or check that y comes from a ReLU network with k units"
        )
    net = best.network
    residual = certificate(net)
    certified = residual <= tolerance
    if not certified and m < n_train and not dask:
        # Not exact on the polishing samples: with noisy labels no network is. The
        # polished network is then refined on *all* training samples, so that its
        # error falls like n^{-1/2} instead of stalling at the polishing subsample's
        # (the noisy route of recover_noisy, from this start) [reconstructed].
        loose = 0.01 * np.sqrt(k * (d + 1) / n_train)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificateWarning)
            # rows=train: streamed over chunks of the training rows, no copy of X[train]
            full = refine_by_patterns(net, X, y, rows=train, max_iter=50, tol=loose)
        full_residual = certificate(full.network)
        if full_residual < residual:
            net, residual = full.network, full_residual
            certified = residual <= tolerance
    if not certified:
        warnings.warn(
            f"recover_with_bias: held-out relative residual {residual:.3e} exceeds "
            f"tolerance={tolerance:.1e}; the returned network is an estimate, "
            "not a certified exact recovery ("
            + ("" if dask else f"with noisy labels it is the pattern least-squares fit on all "
               f"{n_train} training samples; ")
            + "for noisy data recover_noisy(X, Y, k, bias=True) is the method meant for it)",
            CertificateWarning,
            stacklevel=2,
        )
    # The diagnostics look at the samples the network was fitted and certified on
    # (the polishing and held-out rows; on Dask arrays, those pulled into memory).
    if dask:
        warn_identifiability(net, np.vstack([Xp, X_hold]), "recover_with_bias")
    else:
        warn_identifiability(net, X, "recover_with_bias", rows=np.concatenate([polish, hold]))
    return RecoveryResult(net, residual, bool(certified), tolerance, attempts)


# ---------------------------------------------------------------------------
# Large biases (ATV21, Theorem 3.2 and footnotes 3-4)
# ---------------------------------------------------------------------------
def large_bias_surrogate(net: TwoLayerNetwork, threshold: float = 3.0) -> TwoLayerNetwork:
    """A network with at most ``k' + 2`` units that replaces the units with ``|b_i| >= threshold``.

    Units with ``b_i >= threshold`` become the affine function
    ``a_i (w_i.x + b_i)``, units with ``b_i <= -threshold`` become 0, and the
    sum ``v.x + c`` of the affine parts is written with two ReLU units,
    ``|v| sigma(v^.x + c/|v|) - |v| sigma(-v^.x - c/|v|)``, since
    ``sigma(t) - sigma(-t) = t`` (ATV21, footnotes 3 and 4; Claim D.14). The
    other ``k'`` units are kept. If the large units cancel (``v = 0``), a
    constant is left, which a bias-free ReLU pair cannot hold: then ``|c|``
    is written as ``(c/40) (sigma(x_1 + 20) + sigma(-x_1 + 20))``, exact for
    ``|x_1| < 20`` [reconstructed].

    Parameters
    ----------
    net : TwoLayerNetwork
        Single-output ReLU network.
    threshold : float, default 3.0

    Returns
    -------
    TwoLayerNetwork

    Raises
    ------
    TypeError
        ``net`` not a :class:`relulib.TwoLayerNetwork` or ``threshold`` not a number.
    ValueError
        ``net`` not a single-output ReLU network, or ``threshold`` not positive
        and finite.

    Examples
    --------
    >>> net = TwoLayerNetwork([[1.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]], [0.5, 4.0])
    >>> large_bias_surrogate(net).k
    3
    """
    as_network(net, "net")
    if net.m != 1 or net.activation.name != "relu":
        raise ValueError("net: expected a single-output ReLU network")
    threshold = as_real_scalar(threshold, "threshold", low=0.0, low_open=True, what="a positive number")
    unit = net.normalized()
    a, V, b = unit.U[0], unit.V, unit.b
    small = np.abs(b) < threshold
    pos = b >= threshold
    v = (a[pos, None] * V[pos]).sum(axis=0)
    c = float(np.sum(a[pos] * b[pos]))
    U_new, V_new, b_new = list(a[small]), list(V[small]), list(b[small])
    norm = float(np.linalg.norm(v))
    if norm > 0:
        U_new += [norm, -norm]
        V_new += [v / norm, -v / norm]
        b_new += [c / norm, -c / norm]
    elif c != 0:
        e1 = np.eye(net.d)[0]
        # c = (c / 40) (sigma(x_1 + 20) + sigma(-x_1 + 20)) whenever |x_1| < 20
        U_new += [c / 40.0, c / 40.0]
        V_new += [e1, -e1]
        b_new += [20.0, 20.0]
    if not U_new:  # everything vanished: a single zero unit
        U_new, V_new, b_new = [0.0], [np.eye(net.d)[0]], [0.0]
    return TwoLayerNetwork(np.array(U_new)[None, :], np.array(V_new), np.array(b_new))
