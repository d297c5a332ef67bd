"""BJW19: exact and noisy recovery of ``Y = U* f(V* X) + E`` (no bias, U* of full column rank).

Bakshi, Jayaram and Woodruff (COLT 2019) learn a two-layer network with a
rectified activation ``f`` (``f(t) = 0`` for ``t <= 0``, ``f(t) > 0``
otherwise) from Gaussian inputs: *exactly* when ``E = 0`` and ``U*`` has full
column rank, approximately under mean-zero noise. Only the paper's abstract
is available; the pipeline below is the book's reconstruction
(appendix "How the algorithms were reconstructed"), checked by the tests:

1. Row span: the row span of ``Y`` equals that of ``f(V* X)`` (step 1).
2. Moments: ``T_2 = E[y_r (x x^T - I)] = c_2 sum_i U*_ri v_i v_i^T`` for every
   output ``r``; the outputs give the third mode of a tensor and Jennrich's
   algorithm returns the rows ``v_i`` up to sign (step 2). :func:`recover_exact`
   first projects onto the row span of ``V*`` (from ``T_1 = E[y x]``), so the
   slices are ``k x k``; a few ALS sweeps follow Jennrich, and units already
   found exactly are deflated out of the slices before the next round.
3. Exact step: on the samples where ``v_i . x`` is most negative, the one
   vector of the row span that vanishes is ``f(v_i^T X)``; it is found from a
   null space (SVD), or from an l1 linear program when a few samples are
   wrong; the wrong sign has no null vector. ``v_i`` then follows exactly from
   ``f^{-1}`` on the active samples, and ``U = Y f(V X)^+`` (step 3).
   Steps 1-3 only need samples in general position: :func:`recover_exact`
   runs them on a random subsample (``max(20 000, 25 d k)`` samples, doubled
   when a round finds no new unit).
4. Certificate ``|Y - U f(V X)|_F / |Y|_F`` at rounding level (step 4).
5. Noise: moments, sign fixing from the first moment, then activation-pattern
   least squares iterated to convergence (step 5).
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate, optimize, sparse

from ._validation import (
    as_degree, as_finite_array, as_positive_int, as_real_scalar,
    as_recovery_problem, as_repetitions, as_rng, as_samples, check_finite_result, is_dask_array,
)
from .atv21 import projected_moments, tensor_stage
from .certificate import (
    CERTIFICATE_TOL, CertificateWarning, RecoveryResult, as_tolerance, certify,
    emit_identifiability, relative_residual, warn_identifiability,
)
from .decomposition import simultaneous_diagonalization, slice_als
from .moments import HermiteMomentAccumulator
from .networks import Activation, TwoLayerNetwork, get_activation
from .refine import refine_by_patterns

__all__ = [
    "activation_hermite_coefficient",
    "approximate_directions",
    "zero_pattern_unit",
    "recover_exact",
    "recover_noisy",
    "recover_null_space",
]

#: Samples (at least; ``25 d k`` if more) on which :func:`recover_exact` runs its first round.
EXACT_SUBSAMPLE = 20_000

#: Largest order :func:`activation_hermite_coefficient` computes.
HERMITE_ORDER_MAX = 60


def activation_hermite_coefficient(activation: str | Activation, order: int) -> float:
    """``c_j = E[f(z) He_j(z)]`` for ``z ~ N(0, 1)``, by adaptive quadrature on ``(0, inf)``.

    For ReLU, ``c_1 = 1/2`` and ``c_2 = 1/sqrt(2 pi)``. So that
    ``E[f(v.x) He_j(x)] = c_j v^{(x) j}`` for unit ``v``.

    Orders up to ``HERMITE_ORDER_MAX = 60`` are accepted: beyond, ``He_j``
    is so large and oscillating that the quadrature loses its digits (and from
    about ``j = 100`` it returns NaN); for ReLU it agrees with the closed form
    ``c_j = (-1)^j He_{j-2}(0) phi(0)`` to a relative 1e-14 up to ``j = 60``.

    Parameters
    ----------
    activation : str or Activation
        A rectified activation (name or :class:`Activation`).
    order : int
        The order ``j``, ``0 <= j <= HERMITE_ORDER_MAX``.

    Returns
    -------
    float
        ``c_j``.

    Raises
    ------
    TypeError
        If ``order`` is not an integer.
    ValueError
        If ``order`` is negative or above ``HERMITE_ORDER_MAX``, or the
        quadrature does not return a finite value (an activation growing too fast).

    Examples
    --------
    >>> round(float(activation_hermite_coefficient("relu", 2) * np.sqrt(2 * np.pi)), 12)
    1.0
    """
    order = as_degree(order, "order")
    if order > HERMITE_ORDER_MAX:
        raise ValueError(
            f"order: expected at most {HERMITE_ORDER_MAX} (quadrature of f He_order "
            f"loses its accuracy beyond), got {order}"
        )
    f = get_activation(activation)
    he = np.polynomial.hermite_e.HermiteE.basis(order)

    def integrand(t):
        return float(f(np.array([t]))[0]) * he(t) * np.exp(-t * t / 2) / np.sqrt(2 * np.pi)

    with np.errstate(over="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value = float(integrate.quad(integrand, 0.0, np.inf, limit=200)[0])
    if not np.isfinite(value):
        raise ValueError(
            f"activation: E[f(z) He_{order}(z)] is not finite by quadrature "
            f"(got {value}); f grows too fast or is not integrable against the Gaussian"
        )
    return value


#: Why BJW19's methods refuse ``k > d`` (``as_recovery_problem``'s ``k_message``).
K_FULL_ROW_RANK = "k: expected at most d={d} hidden units (V* must have full row rank), got k={k}"


def _first_and_second_moments(X, Y, rows=None):
    """``T_1`` (m, d) and ``T_2`` (m, d, d) for every output, from one streamed pass (of the
    samples ``X[rows]`` with ``rows``)."""
    acc = HermiteMomentAccumulator(X.shape[1]).update(X, Y, rows=rows)
    return acc.T1(), check_finite_result(acc.T2(), "the second moment T_2", inputs="X, Y")


def _second_moments(X, Y, rows=None):
    """``T_2`` for every output: shape (m, d, d) (of the samples ``X[rows]`` with ``rows``)."""
    return _first_and_second_moments(X, Y, rows)[1]


def approximate_directions(
    X: ArrayLike, Y: ArrayLike, k: int, *, rng: int | np.random.Generator | None = None,
    T2: ArrayLike | None = None, n_trials: int = 5,
) -> np.ndarray:
    """Rows of ``V*`` up to sign from second moments and Jennrich (BJW19 step 2, reconstructed).

    ``T_2[r] = c_2 sum_i U*_ri v_i v_i^T`` (one slice per output ``r``), so
    random combinations ``M_g = sum_r g_r T_2[r] = V^T diag(c_2 U^T g) V`` are
    simultaneously diagonalised (:func:`relulib.simultaneous_diagonalization`).
    Needs ``m >= k`` outputs with ``U*`` of full column rank.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)
    k : int
    rng : None, int or numpy.random.Generator
    T2 : ndarray of shape (m, d, d), optional
        Precomputed second moments.
    n_trials : int, default 5
        Random contraction pairs tried; the one whose eigenvectors are best
        conditioned (largest smallest singular value) is kept.

    Returns
    -------
    ndarray of shape (k, d)
        Unit rows, each an estimate of ``+-v_i``.

    Raises
    ------
    TypeError
        ``k`` or ``n_trials`` not an integer.
    ValueError
        Bad shapes or non-finite values, ``k`` not in ``1..d``, ``n_trials``
        below 1, ``T2`` not finite of shape (m, d, d), a bad ``rng``, or moments
        that overflow. ``n_trials`` above ``MAX_REPETITIONS`` (10**6) is refused
        before any work.
    """
    X, Y, k = as_recovery_problem(
        X, Y, k, k_message="k: expected 1 <= k <= d={d} directions, got k={k}"
    )
    rng = as_rng(rng)
    n_trials = as_repetitions(n_trials, "n_trials")
    d = X.shape[1]
    if T2 is not None:
        T2 = as_finite_array(T2, "T2", shape=(Y.shape[1], d, d))
    return _approximate_directions(X, Y, k, rng, T2, n_trials)


def _approximate_directions(X, Y, k, rng, T2=None, n_trials=5):
    """:func:`approximate_directions` on validated arguments (the recovery functions call it)."""
    if T2 is None:
        T2 = _second_moments(X, Y)
    m = T2.shape[0]
    # Project onto the k-dimensional span of the v_i: top eigenvectors of sum_r T_r^2.
    S = check_finite_result(np.einsum("rij,rjl->il", T2, T2), "the matrix sum_r T_r^2",
                            inputs="X, Y")
    _, evecs = np.linalg.eigh(S)
    P = evecs[:, -k:]
    best = None
    for _ in range(n_trials):  # keep the best-conditioned of a few random contractions
        g, h = rng.standard_normal((2, m))
        Mg = P.T @ np.tensordot(g, T2, axes=1) @ P
        Mh = P.T @ np.tensordot(h, T2, axes=1) @ P
        A, _ = simultaneous_diagonalization(Mg, Mh, k)
        score = np.linalg.svd(A, compute_uv=False)[-1]
        if best is None or score > best[0]:
            best = (score, A)
    V = (P @ best[1]).T
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def _null_vector(B, tol):
    """Unit ``c`` with ``B c = 0`` to rounding, or ``None`` (SVD test)."""
    _, s, vt = np.linalg.svd(B, full_matrices=False)
    if s[0] == 0 or s[-1] > tol * s[0] or (len(s) > 1 and s[-2] <= tol * s[0]):
        return None
    return vt[-1]


def _projected_moments(X, Y, k):
    """The row span of ``V*`` from ``T_1`` and the second moments projected onto it.

    ``T_1 = E[y x] = U* diag(c_i) V*`` with ``c_i = E[f(v_i.x) v_i.x] / |v_i| > 0`` for a
    rectified ``f``, so its top ``k`` right singular vectors ``P`` (d, k) span the rows
    of ``V*`` (labels centred first, which leaves ``T_1`` unchanged and lowers its
    variance). The slices ``S_r = P^T T_2[r] P = E[(y_r - ybar_r) z z^T]``, ``z = P^T x``,
    are ``k x k``: ``O(n m k^2)`` work instead of the ``O(n m d^2)`` of the full ``T_2``.
    Returns ``(P, S)`` with ``S`` of shape (m, k, k).
    """
    n = X.shape[0]
    m = Y.shape[1]
    Yc = Y - Y.mean(axis=0)
    P = np.linalg.svd((Yc.T @ X) / n, full_matrices=False)[2][:k].T  # (d, k)
    Z = X @ P
    # S_r = sum_s (y_rs - ybar_r) z_s z_s^T from the products z_a z_b (a <= b): one BLAS
    # product of the centred labels with the n x k(k+1)/2 matrix of products, in blocks.
    rows, cols = np.triu_indices(k)
    flat = np.zeros((m, rows.size))
    step = max(256, 4_000_000 // rows.size)  # work arrays of about 32 MiB
    for a in range(0, n, step):
        Zb = Z[a : a + step]
        flat += Yc[a : a + step].T @ (Zb[:, rows] * Zb[:, cols])
    S = np.zeros((m, k, k))
    S[:, rows, cols] = flat / n
    S[:, cols, rows] = flat / n
    check_finite_result(S, "the projected second moments", inputs="X, Y")
    if not np.any(S):
        raise ValueError(
            "X, Y: the projected second moments are all zero: the labels carry no second-order "
            "signal, or the inputs are so small that the moments underflow (rescale X to unit "
            "variance)"
        )
    return P, S


def _deflated_directions(P, S, known, rng, *, n_trials=5, sweeps=10):
    """Approximate rows of ``V*`` not in ``known``, from the projected slices (BJW19 step 2, reconstructed).

    ``S_r = A diag(C_r) A^T`` with ``A = P^T V*^T``. The known rows give columns
    ``a_i = P^T v_i``; on the orthogonal complement ``Q`` of those, ``Q^T S_r Q`` holds
    the remaining units alone (deflation). Jennrich's algorithm on these slices (best
    conditioned of ``n_trials`` random pairs), a few ALS sweeps on all of them
    (:func:`relulib.decomposition.slice_als`), and the full columns from ``S_r Q B^{-T} = A_rest diag(C_r)``
    (rank one across ``r``). Returns unit rows, shape (k - len(known), d), each ``+-v_i``.
    """
    k = S.shape[1]
    j = len(known)
    if j:
        A_known = P.T @ np.array(known).T  # (k, j)
        Q = np.linalg.qr(A_known, mode="complete")[0][:, j:]  # (k, k - j)
    else:
        Q = np.eye(k)
    R = np.einsum("ia,rij,jb->rab", Q, S, Q)
    best = None
    for _ in range(n_trials):  # keep the best-conditioned of a few random contractions
        g, h = rng.standard_normal((2, S.shape[0]))
        B, _ = simultaneous_diagonalization(np.tensordot(g, R, axes=1), np.tensordot(h, R, axes=1), k - j)
        score = np.linalg.svd(B, compute_uv=False)[-1]
        if best is None or score > best[0]:
            best = (score, B)
    B = slice_als(R, best[1], sweeps)
    if j:
        W = np.linalg.pinv(B).T
        SQ = S @ Q  # (m, k, k - j)
        A = np.empty((k, k - j))
        for i in range(k - j):  # the columns S_r Q w_i = C_ri a_i, one per output
            A[:, i] = np.linalg.svd(SQ @ W[:, i], full_matrices=False)[2][0]
    else:
        A = B
    V = (P @ A).T
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def _l1_null_vector(B, start):
    """``argmin |B c|_1`` subject to ``start . c = 1``: a linear program (scipy.optimize.linprog).

    Variables ``(c, t)`` with ``-t <= B c <= t``; robust to a few rows of ``B``
    that do not vanish (samples where the unit is in fact active).
    """
    p, q = B.shape
    cost = np.concatenate([np.zeros(q), np.ones(p)])
    eye = sparse.identity(p, format="csr")
    A_ub = sparse.vstack([sparse.hstack([B, -eye]), sparse.hstack([-B, -eye])], format="csr")
    b_ub = np.zeros(2 * p)
    A_eq = np.concatenate([start, np.zeros(p)])[None, :]
    bounds = [(None, None)] * q + [(0, None)] * p
    res = optimize.linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
    return res.x[:q] if res.status == 0 else None


def _solve_unit(X, r, act, tol):
    """Exact ``v`` with ``r = alpha f(X v)`` from the active samples (BJW19 step 3, reconstructed).

    Returns ``(v, alpha)`` or ``None`` if no such ``v`` exists to rounding.
    """
    active = np.flatnonzero(r > tol * np.max(np.abs(r)))
    if active.size < X.shape[1]:
        return None
    # The system r = alpha f(X v) is consistent: 5 d of its equations (a well-conditioned
    # Gaussian block) determine v as well as all of them (the caller checks the fit on
    # every sample).
    active = active[: 5 * X.shape[1]]
    XA, rA = X[active], r[active]
    if act.degree is not None:  # f(c t) = c^p f(t): invert and absorb the scale
        v = np.linalg.lstsq(XA, act.inverse(rA), rcond=None)[0]
        return v, 1.0
    # Non-homogeneous f (e.g. rectified tanh): r = alpha f(X v) with unknown alpha.
    top = np.max(rA)
    best = None
    for scale in (1.0001, 1.01, 1.1, 1.5, 2.0, 4.0, 8.0, 16.0):
        with np.errstate(all="ignore"):
            z = act.inverse(rA / (scale * top))
        if not np.all(np.isfinite(z)):
            continue
        v, *_ = np.linalg.lstsq(XA, z, rcond=None)
        err = np.linalg.norm(scale * top * act(XA @ v) - rA)
        if best is None or err < best[0]:
            best = (err, v, scale * top)
    if best is None:
        return None

    def resid(theta):
        return theta[0] * act(XA @ theta[1:]) - rA

    theta0 = np.concatenate([[best[2]], best[1]])
    sol = optimize.least_squares(resid, theta0, xtol=1e-15, ftol=1e-15, gtol=1e-15, method="lm")
    return sol.x[1:], sol.x[0]


def zero_pattern_unit(
    X: ArrayLike, basis: ArrayLike, direction: ArrayLike, act: Activation, *,
    quantile: float = 0.1, tol: float = 1e-9,
) -> np.ndarray | None:
    """The exact step for one approximate direction and one sign (BJW19 step 3, reconstructed).

    On the samples ``P`` with the most negative projections ``direction . x``
    (the lowest ``quantile``), look for the vector of the row span (columns of
    ``basis``) that vanishes on ``P``: the null space of ``basis[P]``, or the
    l1 linear program when a few samples of ``P`` are wrong. If it exists it is
    ``f(v^T X)`` up to scale, and ``v`` is solved for exactly.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    basis : ndarray of shape (n, k)
        Orthonormal basis of the column span of ``Y``.
    direction : ndarray of shape (d,)
    act : Activation
    quantile : float
    tol : float
        Relative level below which a singular value or a residual is zero.

    Returns
    -------
    ndarray of shape (d,) or None
        The exact row ``v`` (for ReLU scaled to unit norm), or ``None`` when no
        vector of the span vanishes (the wrong sign).

    Raises
    ------
    TypeError
        ``act`` not an activation, ``quantile`` or ``tol`` not numbers.
    ValueError
        Bad shapes or non-finite values of ``X``, ``basis`` (one row per sample)
        or ``direction`` (length ``d``), a bad ``act``, ``quantile`` outside
        ``(0, 1)``, ``tol`` negative, or a row that overflows.
    """
    X = as_samples(X, "X")
    basis = as_finite_array(basis, "basis", ndim=2)
    if basis.shape[0] != X.shape[0] or basis.shape[1] < 1:
        raise ValueError(
            f"basis: expected shape ({X.shape[0]}, k) with k >= 1 (one row per sample of X), "
            f"got shape {basis.shape}"
        )
    direction = as_finite_array(direction, "direction", shape=(X.shape[1],))
    try:
        act = get_activation(act)
    except (TypeError, ValueError) as exc:  # get_activation names its argument "activation"
        msg = str(exc)
        raise type(exc)("act" + msg[len("activation"):] if msg.startswith("activation:") else
                        f"act: {msg}") from None
    quantile = as_real_scalar(quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True,
                              what="a fraction")
    tol = as_real_scalar(tol, "tol", low=0.0, what="a non-negative tolerance")
    proj = X @ direction
    v = _unit_on_zero_set(X, basis, proj <= np.quantile(proj, quantile), proj, act, tol)
    if v is not None:
        check_finite_result(v, "the recovered row v", inputs="X, basis",
                            hint="expected X and basis of moderate scale: rescale them")
    return v


def _unit_on_zero_set(X, basis, P, proj, act, tol):
    """:func:`zero_pattern_unit` once its zero set ``P`` (mask or indices) is chosen.

    ``proj`` are the projections that chose ``P`` (the most negative first).
    """
    B = basis[P]
    c = _null_vector(B, tol)
    if c is None:  # a few samples of P may be active: l1 LP, then re-solve on its zero set
        # The LP uses the 50 k most negative samples, the most trustworthy ones.
        core = np.argsort(proj[P])[: 50 * basis.shape[1]]
        c = _l1_null_vector(B[core], np.linalg.svd(B, full_matrices=False)[2][-1])
        if c is None:
            return None
        scale = np.linalg.norm(B @ c, np.inf) + np.linalg.norm(basis @ c, np.inf)
        zero = np.abs(B @ c) <= 1e-7 * scale
        if np.count_nonzero(zero) < 0.9 * B.shape[0]:
            return None
        c = _null_vector(B[zero], tol)
        if c is None:
            return None
    r = basis @ c
    big = np.abs(r) > tol * np.max(np.abs(r))
    r = r if np.sum(r[big]) > 0 else -r
    if np.any(r[big] < 0):  # a rectified f is positive wherever it is non-zero
        return None
    sol = _solve_unit(X, np.where(big, r, 0.0), act, tol)
    if sol is None:
        return None
    v, alpha = sol
    fitted = alpha * act(X @ v)
    if np.linalg.norm(fitted - np.where(big, r, 0.0)) > 1e3 * tol * np.linalg.norm(r):
        return None
    if act.degree is not None:
        v = v / np.linalg.norm(v)
    return v


def _zero_set_with_one_null_vector(basis, pr, zero_set, k, tol=1e-9):
    """A zero set on which ``basis`` has exactly one null vector, near ``zero_set`` (recover_exact).

    ``zero_set`` holds the samples with the smallest ``pr`` (the tenth of them). Two
    things can spoil it: units at a small angle to the sought one are inactive on its
    most negative samples too (two or more null vectors): then the set is widened to
    the lowest 20 %, then 40 % of ``pr``; or a rough direction puts a few active
    samples in it (no null vector): then it is narrowed to the ``25 k`` most negative
    samples. The first set with one null vector is returned, else ``zero_set`` (for
    the l1 program of :func:`zero_pattern_unit`).
    """
    def nulls(rows):
        s = np.linalg.svd(basis[rows], compute_uv=False)
        return int(np.sum(s <= tol * s[0])) if s[0] > 0 else basis.shape[1]

    count = nulls(zero_set)
    if count == 1:
        return zero_set
    n = pr.shape[0]
    if count > 1:
        sizes = [n // 5, 2 * n // 5]
    else:
        sizes = [min(25 * k, zero_set.size)]
    for size in sizes:
        if size <= k or size == zero_set.size:
            continue
        rows = np.argpartition(pr, size - 1)[:size]
        if nulls(rows) == 1:
            return rows
    return zero_set


def _exact_attempt(X, Y, k, act, rng):
    """One run of steps 1-3 and ``U`` (:func:`recover_exact`): ``(network, rounds)``."""
    n, m = Y.shape
    # Steps 1-3 work on a random subsample: exactness needs only samples in general
    # position, the moments only rough directions. A round that misses units draws a fresh
    # subsample twice as large (at most all n samples); the certificate uses all samples.
    d = X.shape[1]
    size = min(n, max(EXACT_SUBSAMPLE, 25 * d * k))
    found: list[np.ndarray] = []
    rounds = 0
    idx = None
    for _attempt in range(4):
        rounds += 1
        if idx is None:  # first round, or the last one found nothing new: more samples
            idx = np.sort(rng.choice(n, size, replace=False)) if size < n else slice(None)
            Xs, Ys = X[idx], Y[idx]
            # The exact step needs fewer samples than the moments: the first n_exact of them.
            n_exact = min(size, max(10_000, 10 * d * k))
            Xe, Ye = Xs[:n_exact], Ys[:n_exact]
            # Step 1: the row span of Y (columns here, samples are rows), and its rank.
            left, s, _ = np.linalg.svd(Ye, full_matrices=False)
            rank = int(np.sum(s > 1e-9 * s[0])) if s[0] > 0 else 0
            if rank < k:
                raise ValueError(
                    f"Y: expected rank k={k} (U* of full column rank; m={m} outputs), got rank {rank}; "
                    "U* is rank deficient: use the FPT method relulib.recover_fpt instead"
                )
            if rank > k:
                raise ValueError(
                    f"Y: expected rank k={k} for noiseless labels, got rank {rank}; for noisy labels "
                    "use relulib.recover_noisy instead"
                )
            basis = left[:, :k]
            moments = None
        # Step 2: rough directions of the units not found yet (moments once per subsample).
        n_before = len(found)
        if moments is None:
            moments = _projected_moments(Xs, Ys, k)
        directions = _deflated_directions(*moments, found, rng)
        proj = Xe @ directions.T
        # Step 3: the zero set starts as the tenth of the samples with the most negative
        # projections, as in zero_pattern_unit; the sign whose basis[zero set] has the
        # smaller singular value ratio goes on (the wrong sign has no null vector).
        n_wide = max(2 * k, n_exact // 10)
        for i in range(directions.shape[0]):
            best = None
            for sign in (1.0, -1.0):
                pr = sign * proj[:, i]
                zero_set = np.argpartition(pr, n_wide - 1)[:n_wide]
                sv = np.linalg.svd(basis[zero_set], compute_uv=False)
                ratio = sv[-1] / sv[0] if sv[0] > 0 else 1.0
                if best is None or ratio < best[0]:
                    best = (ratio, zero_set, pr)
            best = (best[0], _zero_set_with_one_null_vector(basis, best[2], best[1], k), best[2])
            v = _unit_on_zero_set(Xe, basis, best[1], best[2], act, 1e-9)
            if v is None:
                continue
            unit = v / np.linalg.norm(v)
            if all(abs(unit @ w / np.linalg.norm(w)) < 1 - 1e-8 for w in found):
                found.append(v)
        if len(found) >= k:
            break
        if len(found) == n_before and size < n:  # no progress: a fresh subsample twice as large
            size, idx = min(n, 2 * size), None
    if len(found) < k:
        # Fall back to the moment directions for the missing units; the certificate will fail.
        found.extend(_deflated_directions(*moments, found, rng))
    V = np.array(found[:k])
    U = np.linalg.lstsq(act(Xe @ V.T), Ye, rcond=None)[0].T  # U = Y f(VX)^+ (exact on the subsample)
    return TwoLayerNetwork(U, V, None, act), rounds


def recover_exact(
    X: ArrayLike, Y: ArrayLike, k: int, *, activation: str | Activation | None = None,
    tolerance: float = CERTIFICATE_TOL, rng: int | np.random.Generator | None = None,
    n_trials: int = 5,
) -> RecoveryResult:
    """Exact recovery of ``Y = U* f(V* X)`` from finite noiseless samples (BJW19, reconstructed).

    Steps (reconstructed, steps 1-4 of the module docstring; appendix section
    "BJW19: exact recovery from noiseless samples"), in rounds:

    1. A random subsample of ``max(EXACT_SUBSAMPLE, 25 d k)`` samples (all of them
       if fewer); its first ``max(10 000, 10 d k)`` samples serve steps 1 and 3.
       The left singular vectors of ``Y`` on them give the row span (and its rank).
    2. Rough directions of the units not found yet: the span of ``V*`` from
       ``T_1 = E[y x]``, the second moments projected onto it (``k x k``
       slices), the units found so far deflated out, Jennrich's algorithm and a
       few ALS sweeps (``_projected_moments``, ``_deflated_directions``).
    3. For each direction, both signs are scored by the smallest singular value
       of the span restricted to the tenth of the samples with the most negative
       projections; for the better sign the set is widened (units at a small
       angle vanish on it too) or narrowed (a rough direction lets active
       samples in) until the span has exactly one null vector there, which is
       ``f(v_i^T X)`` up to scale; ``v_i`` follows exactly
       (:func:`zero_pattern_unit`'s step).
    4. Another round (at most 4) if units are missing: the same subsample and its
       moments if the round found a unit, else a fresh one twice as large. Then
       ``U = Y f(V X)^+`` on the subsample and the certificate
       ``|Y - U f(V X)|_F / |Y|_F`` on *all* samples.
    5. If the certificate fails, a fresh attempt (new subsample and random
       contractions), at most ``n_trials`` in all; the best is kept. Whether an
       attempt is exact hinges on discrete choices (signs, zero sets) made from
       rough directions; near the smallest sample sizes a few samples close to a
       unit's boundary can tip them, and with them the outcome of a single
       attempt can change with the last bits of the floating-point arithmetic
       (BLAS kernel or thread count). The restarts remove that dependence in the
       measured settings.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Gaussian inputs, one sample per row.
    Y : ndarray of shape (n, m)
        Noiseless labels ``f(X V*^T) U*^T``.
    k : int
        Hidden units, ``k <= d`` and ``k <= m``.
    activation : str, Activation or callable, optional
        Rectified activation with an inverse on ``(0, inf)``; default ``"relu"``.
    tolerance : float, default :data:`relulib.CERTIFICATE_TOL`
        The certificate accepts a relative residual on the samples up to this
        value (the ``n >= 10 d k`` samples over-determine the network).
    rng : None, int or numpy.random.Generator
        For the subsamples and the random contractions of Jennrich's algorithm.
    n_trials : int, default 5
        Attempts at most (step 5): a new attempt is made only when the
        certificate of the previous one fails. The same name as in
        :func:`recover_with_bias` and :func:`recover_noisy`.

    Returns
    -------
    RecoveryResult
        ``.network`` with rows of ``V`` at unit norm for homogeneous ``f``;
        ``.residual`` on all samples, ``.certified``; ``.iterations`` counts the
        rounds of all attempts (at most 4 per attempt).

    Raises
    ------
    ValueError
        Bad shapes or non-finite values; ``k > d``; fewer than ``10 d k``
        samples; an activation without inverse; ``Y`` of rank below ``k``
        (``U*`` rank deficient, e.g. ``m < k``): use
        :func:`relulib.recover_fpt` then.
        Also ``tolerance`` not a positive finite number, ``n_trials`` below 1, an
        unknown ``activation`` or a bad ``rng``. ``n_trials`` above
        ``MAX_REPETITIONS`` (10**6) is refused before any work.
    TypeError
        ``k`` or ``n_trials`` not an integer, or ``tolerance`` not a number.

    Warns
    -----
    CertificateWarning
        If the relative residual exceeds ``tolerance`` (the message states it).
    IdentifiabilityWarning
        For each finding of :func:`relulib.identifiability_diagnostics` on the
        result (units the samples do not determine).

    See Also
    --------
    recover_noisy : The noisy setting (moments and pattern least squares).
    recover_fpt : When ``U*`` has no full column rank.
    RecoveryResult : The result and its certificate.

    Notes
    -----
    Measured limits (chapter "Limits of the methods", ``benchmarks/limits.py``;
    20 noiseless instances per setting, ``d = 8``, ``m = k``): all recovered at
    condition number 1 of ``V``, 16 of 20 at 10 and none at 100; all at every
    ``k <= d = 8`` and at every ``n`` from ``10 d k = 320`` on (``k = 4``). Every
    failure was flagged by the certificate. A single attempt's outcome can differ
    in the last bits of the arithmetic (BLAS kernel, thread count) near the
    smallest sample sizes; the restarts (``n_trials``) absorb that.

    References
    ----------
    * Bakshi, Jayaram and Woodruff, *Learning Two Layer Rectified Neural Networks in
      Polynomial Time*, COLT 2019 (BJW19), arXiv:1811.01885.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(6, 3, m=4, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 5000, rng=1)
    >>> est = recover_exact(X, Y, 3, rng=2)
    >>> est.certified, rl.parameter_error(net, est.network) < 1e-9
    (True, True)
    """
    if is_dask_array(X) or is_dask_array(Y):  # moments and certificate by reduction
        from . import scaleout  # scaleout imports this module

        return scaleout.recover_exact(X, Y, k, activation=activation, tolerance=tolerance, rng=rng,
                                      n_trials=n_trials)
    X, Y, k = as_recovery_problem(X, Y, k, k_message=K_FULL_ROW_RANK, min_samples_per_dk=10)
    tolerance = as_tolerance(tolerance)
    act = get_activation("relu" if activation is None else activation)
    if act.inverse is None:
        raise ValueError(
            f"activation: the exact step needs f^{{-1}} on (0, inf), got {act.name!r} without an "
            "inverse; pass an Activation with `inverse`"
        )
    rng = as_rng(rng)
    n_trials = as_repetitions(n_trials, "n_trials")
    # Y = U f(VX) is linear in U: labels of extreme scale (whose products overflow in the
    # moments) are divided by their largest entry, and U multiplied back at the end.
    y_max = float(np.max(np.abs(Y)))
    y_scale = y_max if (y_max > 1e150 or 0 < y_max < 1e-150) else 1.0
    Y_given = Y
    if y_scale != 1.0:
        Y = Y / y_scale
    # Restarts: exactness of an attempt hinges on discrete choices (zero sets, signs)
    # made from rough directions, which a few samples near a boundary can tip. A failed
    # certificate is answered by a fresh attempt (new subsample and contractions).
    best, rounds = None, 0
    for _trial in range(n_trials):
        net, used = _exact_attempt(X, Y, k, act, rng)
        rounds += used
        if y_scale != 1.0:
            net = TwoLayerNetwork(net.U * y_scale, net.V, None, act)
        res, findings = certify(net, X, Y_given)  # and the diagnostics, in the same pass
        if best is None or res < best[1]:
            best = (net, res, findings)
        if res <= tolerance:
            break
    net, res, findings = best
    certified = res <= tolerance
    if not certified:  # step 4: the certificate
        warnings.warn(
            f"recover_exact: certificate failed, relative residual |Y - U f(VX)| / |Y| = {res:.3e} "
            f"> tolerance {tolerance:.0e}; try more samples, another rng, or relulib.recover_noisy",
            CertificateWarning,
            stacklevel=2,
        )
    emit_identifiability(findings, "recover_exact")
    return RecoveryResult(net, res, bool(certified), tolerance, rounds)


def recover_null_space(
    X: ArrayLike, Y: ArrayLike, k: int, *, quantile: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> TwoLayerNetwork:
    """The exact step alone, applied to noisy labels: biased (step 5 of the module docstring).

    As in :func:`recover_exact` (ReLU), but with the top-``k`` left singular
    vectors of a noisy ``Y`` as the span, the *smallest* singular vector of
    ``basis[P]`` in place of an exact null vector (the sign with the smaller
    singular value wins), the active samples ``r > 0``, and least squares for
    ``v_i`` and ``U``. Noise in the span and in ``r`` does not average out:
    the error stalls at a bias instead of falling like ``n^{-1/2}``. Shown in
    the book to motivate :func:`recover_noisy`; no certificate.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)
    k : int
    quantile : float, default 0.1
    rng : None, int or numpy.random.Generator

    Returns
    -------
    TwoLayerNetwork

    Raises
    ------
    TypeError
        ``k`` not an integer or ``quantile`` not a number.
    ValueError
        Bad shapes or non-finite values, ``k > d``, fewer than ``10 d k``
        samples, ``quantile`` outside ``(0, 1)`` or a bad ``rng``.
    """
    X, Y, k = as_recovery_problem(X, Y, k, k_message=K_FULL_ROW_RANK, min_samples_per_dk=10)
    rng = as_rng(rng)
    quantile = as_real_scalar(quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True,
                              what="a fraction")
    basis = np.linalg.svd(Y, full_matrices=False)[0][:, :k]
    rows = []
    for direction in _approximate_directions(X, Y, k, rng):
        best = None
        for sign in (1.0, -1.0):
            proj = X @ (sign * direction)
            P = proj <= np.quantile(proj, quantile)
            _, s, vt = np.linalg.svd(basis[P], full_matrices=False)
            if best is None or s[-1] / s[0] < best[0]:
                best = (s[-1] / s[0], vt[-1])
        r = basis @ best[1]
        r = r if np.sum(r[r > 0]) > -np.sum(r[r < 0]) else -r
        active = r > 0
        v = np.linalg.lstsq(X[active], r[active], rcond=None)[0]
        rows.append(v / np.linalg.norm(v))
    V = np.array(rows)
    U = np.linalg.lstsq(np.maximum(X @ V.T, 0.0), Y, rcond=None)[0].T
    return TwoLayerNetwork(U, V)


def _moment_initialisation(X, Y, k, rng, rows=None):
    """Rows ``+-v_i`` (Jennrich), then ``U`` from ``T_2`` and signs from ``T_1`` (ReLU, no bias).

    With ``rows`` (an index array), from the samples ``X[rows]`` only, streamed
    (no copy of them).

    ``T_2[r] = c_2 sum_i U_ri v_i v_i^T`` is blind to the sign of ``v_i``;
    ``T_1 = c_1 U diag(s) V`` then gives the signs ``s_i`` (the analogue of
    ATV21's FixSigns, Algorithm 3). For ``m < k`` the slices come from
    ``T_4[., ., g, g]`` (step 2 of the module docstring: with ``m = 1``, use order 4).
    """
    d = X.shape[1]
    m = Y.shape[1]
    c1, c2 = 0.5, 1.0 / np.sqrt(2 * np.pi)
    T1, T2 = _first_and_second_moments(X, Y, rows)  # (m, d), (m, d, d): one pass
    if m >= k:
        V = _approximate_directions(X, Y, k, rng, T2)
    else:
        S = check_finite_result(np.einsum("rij,rjl->il", T2, T2), "the matrix sum_r T_r^2",
                                inputs="X, Y")
        P = np.linalg.eigh(S)[1][:, -k:]
        g = rng.standard_normal((2, d)) @ P @ P.T
        acc = HermiteMomentAccumulator(d, g4=g).update(X, Y, rows=rows)
        T4 = acc.T4()  # (m, 2, d, d)
        A, _ = simultaneous_diagonalization(P.T @ T4[:, 0].sum(0) @ P, P.T @ T4[:, 1].sum(0) @ P, k)
        V = (P @ A).T
        V /= np.linalg.norm(V, axis=1, keepdims=True)
    # U from T_2: least squares against the rank-one matrices c_2 v_i v_i^T.
    G = np.stack([c2 * np.outer(v, v).ravel() for v in V], axis=1)  # (d^2, k)
    U = np.linalg.lstsq(G, T2.reshape(m, -1).T, rcond=None)[0].T  # (m, k)
    # T_1 = sum_i z_i (c_1 U_i) v_i^T with z_i = s_i: linear least squares for z.
    H = np.stack([np.outer(c1 * U[:, i], V[i]).ravel() for i in range(k)], axis=1)
    z = np.linalg.lstsq(H, T1.ravel(), rcond=None)[0]
    s = np.where(z >= 0, 1.0, -1.0)
    return TwoLayerNetwork(U, V * s[:, None])


#: Tensor-stage starts that :func:`recover_noisy` refines with ``bias=True``: the best
#: ranked by the residual of the rough network.
_REFINED_STARTS = 3


def recover_noisy(
    X: ArrayLike, Y: ArrayLike, k: int, *, bias: bool = False,
    rng: int | np.random.Generator | None = None, max_iter: int = 50, n_trials: int | None = None,
    tolerance: float = CERTIFICATE_TOL, holdout: float | None = None,
    screen_samples: int | None = None,
) -> RecoveryResult:
    """Recovery under mean-zero label noise (BJW19, reconstructed; ATV21 networks with ``bias=True``).

    Moments give a rough estimate (Jennrich on ``T_2`` for the rows up to sign,
    ``U`` from ``T_2``, signs from ``T_1``); activation-pattern least squares
    (:func:`relulib.refine_by_patterns`, the polishing step) is then iterated
    to convergence. Its fixed point is the least-squares fit for its own
    activation pattern, so the error falls like ``n^{-1/2}`` (BJW19 step 5).
    With ``bias=True`` (one output) the initial estimates come from ATV21's
    tensor stage, as in :func:`relulib.recover_with_bias`:
    :func:`relulib.projected_moments` once, then :func:`relulib.tensor_stage`
    with ``attempt = 0, 1, ...`` (orders 3 and 4 together, then each alone);
    the biases are refined too. ReLU only.

    Several initialisations, selected by residual [reconstructed]. From a
    rough start the pattern iteration can stop in a local fit: most units
    right, one or two wrong (a sign-flipped unit, two units sharing one true
    unit), with a residual visibly above that of the right fit. With few
    samples per parameter (e.g. ``d = 50``, ``k = 10``, ``n = 2e4``) the tensor
    stage's estimates are rough and each one leads to the right fit only
    sometimes, so ``n_trials`` of them are tried and the fit with the smallest
    residual is kept. With ``bias=True`` the ``n_trials`` tensor-stage starts
    are first ranked by the residual of the rough network itself on a random
    subsample of ``max(screen_samples, 10 d k)`` training samples (a start
    with a wrong unit fits visibly worse), only the best three are refined on
    that subsample (the screening: the residuals of right and wrong fits
    differ already there, at a fraction of the cost), and only the winner is
    refined on all of them.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, m)
    k : int
        Hidden units, ``k <= d``.
    bias : bool, default False
    rng : None, int or numpy.random.Generator
    max_iter : int, default 50
        Iterations of the pattern least squares.
    n_trials : int or None, default None
        Moment initialisations (fresh random contractions) drawn; the network
        with the smallest residual is returned (the same name as in
        :func:`relulib.recover_with_bias` and :func:`relulib.jennrich`). With
        ``bias=True`` only the three with the smallest rough residual are
        refined. ``None``: 16 with ``bias=True``, 3 without.
    tolerance : float, default :data:`relulib.CERTIFICATE_TOL`
        ``certified`` is ``residual <= tolerance`` (noiseless data only).
    holdout : float or None, default None
        Fraction of the samples (drawn at random with ``rng``) kept out of
        the fit, on which ``.residual`` is then measured (as in
        :func:`relulib.recover_with_bias`). ``None`` fits on all samples, the
        statistically most efficient choice, and ``.residual`` is in-sample.
        The training and held-out samples are used by their row indices, a
        chunk at a time (no copy of either part of ``X``).
    screen_samples : int or None, default None
        Size of the random subsample on which the initialisations are ranked and
        refined before the best one is refined on all training samples (at least
        ``10 d k`` are used; no screening when that is all of them, or when only
        one initialisation is left to refine). ``None``:
        5000 with ``bias=True``; without bias, no screening (every
        initialisation is refined on all samples).

    Returns
    -------
    RecoveryResult
        ``.network``; ``.residual`` the relative fit residual
        ``|Y - f~(X)|_F / |Y|_F``: on the held-out samples when ``holdout``
        is a fraction (the fit residual on data the fit has not seen), else
        on all samples (slightly optimistic: the fit has seen them). Either
        is about the noise level relative to the labels' norm when the
        estimate is good; ``.iterations`` the initialisations
        tried (``n_trials``). No warning when uncertified: with noise the result is an
        estimate by design, and ``.certified`` says whether it is exact.

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, ``k > d``, fewer than ``10 d k`` training samples,
        ``holdout`` outside ``(0, 1)``; with ``bias=True``, more than one output or no
        usable tensor estimate in ``n_trials`` attempts.
        ``n_trials``, ``max_iter`` above ``MAX_REPETITIONS`` (10**6) are refused before
        any work.
    TypeError
        ``screen_samples`` not a positive integer or None (``ValueError`` if it is
        below 1).

    Warns
    -----
    IdentifiabilityWarning
        When :func:`relulib.identifiability_diagnostics` finds units the
        samples do not determine (as for every ``recover_*`` function).

    See Also
    --------
    recover_exact : The noiseless, certified setting.
    tensor_stage : The ATV21 tensor stage used for the initialisation.
    refine_by_patterns : The activation-pattern least squares.

    References
    ----------
    * Bakshi, Jayaram and Woodruff, *Learning Two Layer Rectified Neural Networks in
      Polynomial Time*, COLT 2019 (BJW19), arXiv:1811.01885.
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(5, 2, m=3, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 20000, noise=0.1, rng=1)
    >>> rl.parameter_error(net, recover_noisy(X, Y, 2, rng=2).network) < 0.05
    True
    """
    X, Y, k = as_recovery_problem(X, Y, k, k_message=K_FULL_ROW_RANK, min_samples_per_dk=10)
    rng = as_rng(rng)
    bias = bool(bias)
    max_iter = as_repetitions(max_iter, "max_iter")
    n_trials = (16 if bias else 3) if n_trials is None else as_repetitions(n_trials, "n_trials")
    if screen_samples is not None:
        screen_samples = as_positive_int(screen_samples, "screen_samples")
    elif bias:
        screen_samples = 5000
    tolerance = as_tolerance(tolerance)
    n, d = X.shape
    # With holdout, the training and held-out rows are index arrays (train = None: all
    # rows): every pass streams over chunks of them, no copy of X[train] or X[hold].
    train = hold = None
    if holdout is not None:
        holdout = as_real_scalar(holdout, "holdout", low=0.0, high=1.0, low_open=True,
                                 high_open=True, what="a fraction or None")
        n_hold = max(1, int(round(holdout * n)))
        needed = 10 * d * k
        if n - n_hold < needed:
            raise ValueError(
                f"holdout: expected at least {needed} training samples (10 d k) after holding "
                f"out holdout={holdout} of n={n}, got {n - n_hold}"
            )
        perm = rng.permutation(n)
        hold, train = perm[:n_hold], perm[n_hold:]
    n_train = n if train is None else train.size
    # Screening [reconstructed]: every initialisation is refined on a random subsample of
    # max(screen_samples, 10 d k) training samples, and only the one with the smallest
    # subsample residual is refined on all of them.
    screen = None if screen_samples is None else max(screen_samples, 10 * d * k)
    if screen is not None and screen < n_train:
        rows = np.sort(rng.choice(n_train, screen, replace=False))
        if train is not None:
            rows = train[rows]
        X_screen, Y_screen = X[rows], Y[rows]  # bounded: the subsample only
    else:
        X_screen = Y_screen = None
    if bias:  # ATV21 Algorithms 1-3 for the initial estimates; the moments are computed once
        if Y.shape[1] != 1:
            raise ValueError(f"Y: expected a single output with bias=True (ATV21), got shape {Y.shape}")
        moments = projected_moments(X, Y, k, rows=train)

    def polish(init, Xp, Yp, strict, rows=None):
        # Stop once a step is 1% of the statistical resolution sqrt(k (d + m) / n): with
        # noise a few boundary samples flip forever. Then a few strict iterations, so that
        # noiseless data still converge to rounding.
        used = Xp.shape[0] if rows is None else rows.size
        loose = 0.01 * np.sqrt(k * (d + Yp.shape[1]) / used)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificateWarning)
            res = refine_by_patterns(init, Xp, Yp, bias=bias, max_iter=max_iter, tol=loose,
                                     rows=rows)
            if strict:
                res = refine_by_patterns(res.network, Xp, Yp, bias=bias, max_iter=5, tol=1e-12,
                                         rows=rows)
        return res

    if bias:
        # The tensor stage's starts cost little next to a refinement: n_trials of them
        # (the restart schedule, as in recover_with_bias), ranked by the residual of the
        # rough network on the screening subsample (else the training rows); only the
        # best _REFINED_STARTS are refined [reconstructed].
        ranked = []
        for attempt in range(n_trials):
            try:
                init = tensor_stage(moments, attempt=attempt, rng=rng)
                with np.errstate(over="ignore", invalid="ignore"):
                    score = (relative_residual(init, X, Y, rows=train) if X_screen is None
                             else relative_residual(init, X_screen, Y_screen))
            except (ValueError, np.linalg.LinAlgError):  # a degenerate draw: try the next one
                continue
            ranked.append((score if np.isfinite(score) else np.inf, attempt, init))
        ranked.sort(key=lambda start: start[:2])
        inits = [init for _, _, init in ranked[:_REFINED_STARTS]]
        if len(inits) == 1:  # nothing to choose between: refine on all training rows at once
            X_screen = Y_screen = None
    else:
        inits = (_moment_initialisation(X, Y, k, rng, train) for _ in range(n_trials))
    best = None
    for init in inits:  # keep the smallest residual
        if X_screen is None:
            res = polish(init, X, Y, strict=True, rows=train)
        else:
            res = polish(init, X_screen, Y_screen, strict=False)
        if best is None or res.residual < best.residual:
            best = res
    if best is None:
        raise ValueError(
            "X: the tensor stage produced no usable initial estimate in any of the "
            f"n_trials={n_trials} attempts; use more samples or a larger n_trials"
        )
    if X_screen is not None:  # the screened winner, refined on all training samples
        best = polish(best.network, X, Y, strict=True, rows=train)
    residual = best.residual if hold is None else relative_residual(best.network, X, Y, rows=hold)
    warn_identifiability(best.network, X, "recover_noisy")
    return RecoveryResult(best.network, residual, bool(residual <= tolerance), tolerance, n_trials)
