"""Fixed-parameter tractable recovery (BJW19) and filtered PCA (CKM20), both reconstructed.

BJW19's abstract announces an algorithm whose running time is polynomial in
``d`` times a function of ``k`` alone, for ``U*`` without full column rank
(e.g. ``m = 1`` output, or ``m < k``) and for arbitrary noise independent of
``X``. CKM20's abstract announces fixed-parameter tractable learning of deep
ReLU networks, built on recovering the span of the first-layer weights by
*filtered PCA*. Neither algorithm is printed in their abstracts; this module
implements the book's reconstruction (appendix "How the algorithms were reconstructed"):

1. **Span.** ``y`` depends on ``x`` only through ``V* x``, so every Hermite
   moment of order 2 lies in the row span of ``V*``:
   ``E[y (x x^T - I)] = c_2 sum_i U*_i v_i v_i^T`` (:func:`span_from_moments`).
   When it is blind (a zero second moment), the filtered moments of
   :func:`filtered_pca` still see the span.
2. **Net search inside the k-dimensional span.** Project ``z = S^T x``
   (``S`` of shape (d, k)); draw candidate first layers from a random net of
   unit vectors of ``R^k``, refine each by activation-pattern least squares
   in ``k`` dimensions and keep the smallest residual. The number of
   candidates grows exponentially in ``k``; ``d`` enters only through the
   span step and one final refinement, ``O(n d^2)``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg

from ._patterns import PatternLeastSquares
from ._validation import (
    as_finite_array, as_int_in_range, as_positive_int, as_real_scalar, as_recovery_problem, as_rng,
    check_array_entries, check_finite_result,
)
from .certificate import CERTIFICATE_TOL, RecoveryResult, as_tolerance, warn_identifiability
from .gaussian import normal_cdf
from .moments import HermiteMomentAccumulator
from .networks import DepthThreeNetwork, TwoLayerNetwork

__all__ = [
    "principal_angle_sine",
    "span_from_moments",
    "blind_depth3_network",
    "FilteredPCAResult",
    "filtered_pca",
    "recover_fpt",
]


def principal_angle_sine(A: ArrayLike, B: ArrayLike) -> float:
    """Sine of the largest principal angle between the column spans of ``A`` and ``B``.

    ``0`` for equal spans, ``1`` when some direction of one is orthogonal to the other.

    Parameters
    ----------
    A : array_like of shape (d, p)
        Columns spanning the first subspace.
    B : array_like of shape (d, q)
        Columns spanning the second subspace.

    Returns
    -------
    float
        The sine, in ``[0, 1]``.

    Raises
    ------
    ValueError
        ``A`` or ``B`` not non-empty finite bases (d, k) with the same number of
        rows.

    Examples
    --------
    >>> principal_angle_sine(np.eye(3)[:, :2], np.eye(3)[:, [1, 0]])
    0.0
    """
    A = as_finite_array(A, "A", ndim=2, nonempty=True)
    B = as_finite_array(B, "B", ndim=2)
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"B: expected {A.shape[0]} rows like A, got shape {B.shape}")
    for name, M in (("A", A), ("B", B)):
        if M.size == 0:
            raise ValueError(f"{name}: expected a non-empty basis (d, k) with d, k >= 1, got shape {M.shape}")
    return float(np.round(np.sin(np.max(linalg.subspace_angles(A, B))), 15))


#: Why the span methods refuse ``k > d`` (``as_recovery_problem``'s ``k_message``).
K_SPAN = "k: expected at most d={d} directions, got k={k}"


def span_from_moments(X: ArrayLike, Y: ArrayLike, k: int) -> np.ndarray:
    """Orthonormal basis of the row span of ``V*`` from second moments (BJW19 step 7, reconstructed).

    ``T_2[r] = E[y_r (x x^T - I)] = c_2 sum_i U*_ri v_i v_i^T``; the top ``k``
    eigenvectors of ``sum_r T_2[r]^2`` span the rows ``v_i`` whenever the
    symmetric matrices ``sum_i U*_ri v_i v_i^T`` jointly have rank ``k``
    (for ``m = 1``: every ``U*_1i != 0``). A constant offset in the noise
    does not bias ``T_2`` because ``E[x x^T - I] = 0``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, m)
    k : int

    Returns
    -------
    ndarray of shape (d, k)

    Raises
    ------
    TypeError
        ``k`` not an integer.
    ValueError
        Bad shapes or non-finite values, ``k`` outside ``[1, d]``, fewer than
        ``10 d k`` samples, or moments that overflow.

    Examples
    --------
    >>> from relulib import random_network, gaussian_samples
    >>> net = random_network(10, 2, rng=0)
    >>> X, Y = gaussian_samples(net, 50_000, rng=1)
    >>> principal_angle_sine(span_from_moments(X, Y, 2), net.V.T) < 0.1
    True
    """
    X, Y, k = as_recovery_problem(X, Y, k, k_message=K_SPAN, min_samples_per_dk=10)
    T2 = HermiteMomentAccumulator(X.shape[1]).update(X, Y).T2()
    S = check_finite_result(np.einsum("rij,rjl->il", T2, T2), "the second moment T_2", inputs="X, Y")
    return np.linalg.eigh(S)[1][:, ::-1][:, :k].copy()


def blind_depth3_network(
    d: int, *, beta: float = 1.0, scale: float = 3.0,
    rng: int | np.random.Generator | None = None,
) -> tuple[DepthThreeNetwork, np.ndarray]:
    """The depth-3 example where second moments are blind (CKM20, reconstructed).

    ``F(x) = v1.x + scale * h(v2.x)`` with the odd function
    ``h(t) = relu(t - beta) - relu(-t - beta) - 2 Phi(-beta) t``, whose linear
    Hermite coefficient ``E[h(z) z] = 2 Phi(-beta) - 2 Phi(-beta)`` vanishes and
    whose even coefficients vanish by oddness. So ``E[F x] = v1`` and
    ``E[F (x x^T - I)] = 0``: plain moments see only ``v1``. Written as a
    depth-3 network: six first-layer units on ``+-v1, +-v2`` (with biases
    ``-beta``), a second layer ``relu(F), relu(-F)`` and output ``relu(F) - relu(-F) = F``.

    Parameters
    ----------
    d : int
        Input dimension, ``d >= 2``.
    beta : float, default 1
        The offset ``beta`` of ``h``.
    scale : float, default 3
        The weight of ``h(v2.x)`` in ``F``.
    rng : None, int or numpy.random.Generator
        For the orthonormal directions ``v1, v2``.

    Returns
    -------
    net : DepthThreeNetwork
    V : ndarray of shape (2, d)
        Orthonormal rows ``v1, v2``.

    Raises
    ------
    TypeError
        ``d`` not an integer, or ``beta`` or ``scale`` not a real number.
    ValueError
        ``d`` below 2, ``beta`` or ``scale`` not finite, or a bad ``rng``. ``d``
        is refused before any allocation if the (6, d) weight matrix would have
        more than ``MAX_ARRAY_ENTRIES`` (2**31) entries.

    Examples
    --------
    >>> net, V = blind_depth3_network(6, rng=0)
    >>> X, y = net.samples(200_000, rng=1)
    >>> bool(np.abs(np.mean(y * (X @ V[1]) ** 2) - np.mean(y)) < 0.05)
    True
    """
    d = as_positive_int(d, "d")
    if d < 2:
        raise ValueError(f"d: expected at least 2 dimensions, got {d}")
    check_array_entries("d", (6, d), "first-layer weight matrix (6, d)")
    beta = as_real_scalar(beta, "beta")
    scale = as_real_scalar(scale, "scale")
    rng = as_rng(rng)
    V = np.linalg.qr(rng.standard_normal((d, 2)))[0].T
    v1, v2 = V
    W1 = np.array([v2, -v2, v2, -v2, v1, -v1])
    b1 = np.array([-beta, -beta, 0.0, 0.0, 0.0, 0.0])
    slope = 2.0 * float(normal_cdf(-beta))
    L = np.array([scale, -scale, -scale * slope, scale * slope, 1.0, -1.0])
    net = DepthThreeNetwork(W1, b1, np.array([L, -L]), np.zeros(2), np.array([1.0, -1.0]))
    return net, V


@dataclass(frozen=True)
class FilteredPCAResult:
    """Outcome of :func:`filtered_pca`.

    Attributes
    ----------
    basis : ndarray of shape (d, k)
        Orthonormal directions, in the order found.
    strengths : ndarray of shape (k,)
        Top eigenvalue of the aggregated filtered moment in each round; a
        value near the noise floor means the round found nothing.
    """

    basis: np.ndarray
    strengths: np.ndarray


def filtered_pca(
    X: ArrayLike, Y: ArrayLike, k: int, *, quantile: float = 0.5, n_bins: int = 2,
) -> FilteredPCAResult:
    """CKM20 filtered PCA, iterated (reconstructed; see the book's appendix).

    Round ``j`` looks for a new direction in the orthogonal complement ``P``
    of the directions ``Q`` found so far. Samples are split into cells by
    quantile bins of ``Q^T x``; in each cell ``c``, with residual
    ``r = y - median_c(y)`` and filter ``1{|r| > tau_c}`` (``tau_c`` the
    ``quantile`` of ``|r|`` in the cell)::

        A_c = E_c[1{|r| > tau_c} (P x x^T P - P)],   b_c = E_c[r P x].

    Since ``y`` depends only on the projection of ``x`` onto the span, and
    ``P x`` restricted to the span's complement is independent of the cell,
    both have range inside the span. The new direction is the top
    eigenvector of ``sum_c w_c (A_c^2 + b_c b_c^T)`` (``w_c`` the cell's
    fraction of samples).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, 1)
    k : int
        Dimension of the span to recover (rounds).
    quantile : float, default 0.5
        Filter threshold as a quantile of ``|r|`` in each cell.
    n_bins : int, default 2
        Quantile bins per direction found (``n_bins ** j`` cells in round ``j``),
        ``1 <= n_bins <= n``.

    Returns
    -------
    FilteredPCAResult

    Raises
    ------
    TypeError
        ``k`` or ``n_bins`` not an integer, or ``quantile`` not a number.
    ValueError
        Bad shapes or non-finite values, more than one output, ``k`` outside
        ``[1, d]``, fewer than ``10 d k`` samples, ``quantile`` outside
        ``[0, 1)``, ``n_bins`` outside ``[1, n]``, or moments that overflow.

    See Also
    --------
    recover_fpt : Recovery inside the span.
    blind_depth3_network : A network whose plain second moments are blind.
    span_from_moments : The unfiltered span.

    References
    ----------
    * Chen, Klivans and Meka, *Learning Deep ReLU Networks Is Fixed-Parameter
      Tractable*, FOCS 2021 (CKM20), arXiv:2009.13512.

    Examples
    --------
    >>> net, V = blind_depth3_network(8, rng=0)
    >>> X, y = net.samples(40_000, rng=1)
    >>> principal_angle_sine(filtered_pca(X, y, 2).basis, V.T) < 0.1
    True
    """
    X, Y, k = as_recovery_problem(X, Y, k, k_message=K_SPAN, min_samples_per_dk=10)
    if Y.shape[1] != 1:
        raise ValueError(f"Y: expected one output, got shape {Y.shape}")
    y = Y[:, 0]
    quantile = as_real_scalar(quantile, "quantile", low=0.0, high=1.0, high_open=True)
    n, d = X.shape
    n_bins = as_int_in_range(n_bins, "n_bins", 1, n)
    Q = np.zeros((d, 0))
    strengths = []
    for _round in range(k):
        P = np.eye(d) - Q @ Q.T
        labels = np.zeros(n, dtype=int)
        for j in range(Q.shape[1]):  # cells of the directions found so far
            s = X @ Q[:, j]
            edges = np.quantile(s, np.linspace(0, 1, n_bins + 1)[1:-1])
            labels = labels * n_bins + np.searchsorted(edges, s)
        M = np.zeros((d, d))
        for cell in np.unique(labels):
            idx = labels == cell
            Xc = X[idx] @ P
            r = y[idx] - np.median(y[idx])
            keep = np.abs(r) > np.quantile(np.abs(r), quantile)
            nc = idx.sum()
            A = Xc[keep].T @ Xc[keep] / nc - keep.mean() * P
            b = Xc.T @ r / nc
            M += (nc / n) * (A @ A + np.outer(b, b))
        check_finite_result(M, "the filtered second moment", inputs="X, Y")
        evals, evecs = np.linalg.eigh(P @ M @ P)
        v = P @ evecs[:, -1]
        Q = np.hstack([Q, (v / np.linalg.norm(v))[:, None]])
        strengths.append(float(evals[-1]))
    return FilteredPCAResult(Q, np.array(strengths))


#: Largest candidate search :func:`recover_fpt` runs unless ``max_candidates`` is raised
#: (the default ``4 * 3**k`` stays below it up to ``k = 8``; at ``k = 12`` it would be about
#: 2e6 candidates, tens of CPU-hours).
FPT_MAX_CANDIDATES = 30_000


def recover_fpt(
    X: ArrayLike, Y: ArrayLike, k: int, *, span: ArrayLike | None = None,
    n_candidates: int | None = None, intercept: bool = False, n_search: int | None = None,
    early_stop: bool = True, tolerance: float = CERTIFICATE_TOL,
    rng: int | np.random.Generator | None = None, max_candidates: int = FPT_MAX_CANDIDATES,
    time_limit: float | None = None,
) -> RecoveryResult:
    """FPT recovery of ``Y = U* relu(V* X) + E`` for any ``U*`` (BJW19, reconstructed).

    Works when ``U*`` has no full column rank (``m = 1``, ``m < k``) and for
    noise independent of ``X`` (heavy-tailed, or with a non-zero mean: use
    ``intercept=True``). Steps (reconstructed, BJW19 FPT variant):

    1. the k-dimensional span ``S`` of the rows of ``V*``
       (:func:`span_from_moments`, or a given ``span``, e.g. from :func:`filtered_pca`);
    2. a random net of ``n_candidates`` first layers in ``R^k``, each refined
       by activation-pattern least squares on ``z = S^T x`` (a ``k``-dimensional
       problem); the best residual wins;
    3. each candidate that improves the search residual is lifted to ``R^d``
       and refined on all samples; the best full residual is returned.

    Cost: ``O(n d^2)`` for the span plus ``n_candidates`` refinements of
    ``k``-dimensional problems; ``n_candidates`` defaults to ``4 * 3**k``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, m)
    k : int
        Hidden units, ``k <= d``.
    span : ndarray of shape (d, k), optional
    n_candidates : int, optional
    intercept : bool, default False
        Fit a constant offset (noise with non-zero mean).
    n_search : int, optional
        Samples used in the search, default ``min(n, 1000 + 100 k^2)``.
    early_stop : bool, default True
        Stop the search once a lifted candidate is certified, with relative
        residual at most ``tolerance`` (noiseless data); ``False`` measures
        the full cost.
    tolerance : float, default :data:`relulib.CERTIFICATE_TOL`
        ``certified`` is ``residual <= tolerance``.
    rng : None, int or numpy.random.Generator
    max_candidates : int, default ``FPT_MAX_CANDIDATES`` (30 000)
        Resource guard: the search refuses to try more candidates than this
        (the cost grows like ``3^k``). Raise it to run a larger search knowingly.
    time_limit : float, optional
        Seconds after which no further candidate is started (at least one is
        always tried); the best network found so far is returned with a
        ``RuntimeWarning`` saying how many candidates were tried.

    Returns
    -------
    RecoveryResult
        ``.network`` (ReLU without bias, unit rows of ``V``); ``.residual`` =
        ``|Y - offset - net(X)|_F / |Y - mean Y|_F`` on all samples (``|Y|_F``
        in the denominator unless ``intercept=True``); ``.iterations`` the
        candidates refined; ``.offset`` (shape (m,), zeros unless
        ``intercept=True``), ``.span`` (d, k) and ``.search_iterations``.
        No warning when uncertified: with noise the result is an estimate by
        design.

    Raises
    ------
    ValueError
        Bad shapes, non-finite values, ``k > d``, fewer than ``10 d k`` samples,
        a ``span`` of the wrong shape, ``n_candidates`` above ``max_candidates``,
        a non-positive ``time_limit``.

    See Also
    --------
    filtered_pca : A span for ``span=`` when second moments are blind.
    span_from_moments : The default span.
    recover_exact : When ``U*`` has full column rank.

    References
    ----------
    * Bakshi, Jayaram and Woodruff, *Learning Two Layer Rectified Neural Networks in
      Polynomial Time*, COLT 2019 (BJW19), arXiv:1811.01885.
    * Chen, Klivans and Meka, *Learning Deep ReLU Networks Is Fixed-Parameter
      Tractable*, FOCS 2021 (CKM20), arXiv:2009.13512.

    Examples
    --------
    >>> from relulib import random_network, gaussian_samples, parameter_error
    >>> net = random_network(8, 3, m=1, rng=0)
    >>> X, Y = gaussian_samples(net, 20_000, rng=1)
    >>> parameter_error(net, recover_fpt(X, Y, 3, rng=2).network) < 1e-9
    True
    """
    X, Y, k = as_recovery_problem(X, Y, k, k_message=K_SPAN, min_samples_per_dk=10)
    rng = as_rng(rng)
    tolerance = as_tolerance(tolerance)
    n, d = X.shape
    m = Y.shape[1]
    if span is None:
        S = span_from_moments(X, Y, k)
    else:
        S = as_finite_array(span, "span", shape=(d, k))
        S = np.linalg.qr(S)[0]
    n_candidates = 4 * 3**k if n_candidates is None else as_positive_int(n_candidates, "n_candidates")
    max_candidates = as_positive_int(max_candidates, "max_candidates")
    if n_candidates > max_candidates:
        raise ValueError(
            f"n_candidates: the search would try {n_candidates:,} candidates (default 4 * 3^k for "
            f"k={k}), expected at most max_candidates={max_candidates:,}; pass a larger "
            "max_candidates to run it anyway, a smaller n_candidates, or a time_limit in seconds"
        )
    deadline = None
    if time_limit is not None:
        deadline = time.monotonic() + as_real_scalar(time_limit, "time_limit", low=0.0, low_open=True,
                                                     what="a positive number of seconds")
    n_search = min(n, 1000 + 100 * k * k) if n_search is None else min(n, as_positive_int(n_search, "n_search"))
    # Step 2: net search in the k-dimensional span.
    Zs, Ys = X[:n_search] @ S, Y[:n_search]
    centred = float(np.linalg.norm(Y - (Y.mean(0) if intercept else 0.0))) or 1.0
    best_rss, best = np.inf, None
    tried = 0
    search_iterations = 0
    for _ in range(n_candidates):
        if deadline is not None and tried > 0 and time.monotonic() > deadline:
            warnings.warn(
                f"recover_fpt: time_limit reached after {tried} of {n_candidates} candidates; "
                "the best network found so far is returned", RuntimeWarning, stacklevel=2,
            )
            break
        W0 = rng.standard_normal((k, k))
        W0 /= np.linalg.norm(W0, axis=1, keepdims=True)
        _, W, _, rss, iterations = PatternLeastSquares(Zs, Ys, intercept=intercept).fit_units(W0, n_iter=15)
        tried += 1
        search_iterations += iterations
        if rss >= best_rss * (1 - 1e-6):  # not a real improvement: skip the lift
            continue
        best_rss = rss
        # Step 3 for each improvement: lift to R^d and refine on all samples.
        V0 = W @ S.T
        V0 /= np.linalg.norm(V0, axis=1, keepdims=True)
        loose = 0.01 * np.sqrt(k * (d + m) / n)  # 1% of the statistical resolution
        _, V0, _, _, _ = PatternLeastSquares(X, Y, intercept=intercept).fit_units(
            V0, n_iter=50, step_tol=loose)
        U, V, offset, _, _ = PatternLeastSquares(X, Y, intercept=intercept).fit_units(V0, n_iter=5)
        norms = np.linalg.norm(V, axis=1)
        net = TwoLayerNetwork(U * norms, V / norms[:, None])
        residual = float(np.linalg.norm(Y - offset - net.predict(X)) / centred)
        if best is None or residual < best[2]:
            best = (net, offset, residual)
        if early_stop and best[2] <= tolerance:  # certified exact: stop the search
            break
    net, offset, residual = best
    warn_identifiability(net, X, "recover_fpt")
    return RecoveryResult(
        net, residual, bool(residual <= tolerance), tolerance, tried,
        offset=np.asarray(offset, dtype=float), span=S, search_iterations=search_iterations,
    )
