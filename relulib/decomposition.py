"""Jennrich's algorithm for third-order tensors (simultaneous diagonalisation).

Harshman (1970) credits the argument to R. I. Jennrich; Leurgans, Ross and
Abel (1993) give the algorithm; Moitra (2018, Section 3.3) a textbook account.
The second route, whitening followed by the tensor power method with
deflation, follows Anandkumar, Ge, Hsu, Kakade and Telgarsky (2014).
For ``T = sum_r lambda_r a_r (x) b_r (x) c_r`` with ``A = [a_r]`` and
``B = [b_r]`` of full column rank and no two columns of ``C`` parallel,
the slices ``M_g = T[., ., g] = A diag(C^T g) B^T`` satisfy

    M_g M_h^+ = A diag(C^T g / C^T h) A^+

for random ``g, h``: the eigenvectors are the ``a_r`` (ATV21, Step 3 of
Algorithm 1, uses exactly this on flattened Hermite tensors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from ._validation import (
    InputTypeError, as_finite_array, as_int_in_range, check_finite_result, as_positive_int, as_real_scalar, as_repetitions, as_rng, check_array_entries, describe,
)

__all__ = [
    "CPDecomposition",
    "flattening_rank",
    "simultaneous_diagonalization",
    "eigenvalue_separation",
    "jennrich",
    "jennrich_slices",
    "khatri_rao",
    "cp_als",
    "jennrich_perturbation_bound",
    "whiten",
    "tensor_power_method",
    "whitened_power_decomposition",
]


@dataclass(frozen=True)
class CPDecomposition:
    """``T = sum_r weights[r] A[:, r] (x) B[:, r] (x) C[:, r]`` with unit-norm columns.

    Attributes
    ----------
    weights : ndarray of shape (r,)
    factors : tuple of three ndarrays of shapes (d1, r), (d2, r), (d3, r)
    residual : float
        Relative Frobenius residual ``|T - sum| / |T|`` on the input tensor.
    """

    weights: np.ndarray
    factors: tuple
    residual: float

    @property
    def rank(self) -> int:
        """Number of rank-one terms."""
        return self.weights.shape[0]

    def to_tensor(self) -> np.ndarray:
        """The tensor ``sum_r weights[r] a_r (x) b_r (x) c_r``.

        Returns
        -------
        numpy.ndarray of shape (d1, d2, d3)
            The tensor.
        """
        A, B, C = self.factors
        return np.einsum("r,ir,jr,kr->ijk", self.weights, A, B, C)

    def as_symmetric(self) -> tuple[np.ndarray, np.ndarray]:
        """Read a decomposition of a symmetric tensor as ``sum_r w_r v_r^{(x)3}``.

        Each ``a_r`` is kept as ``v_r``; the signs of ``b_r, c_r`` relative to
        ``a_r`` are folded into the weight. Returns ``(weights (r,), vectors (r, d))``.

        Returns
        -------
        weights : numpy.ndarray of shape (r,)
            The weights ``w_r``.
        vectors : numpy.ndarray of shape (r, d)
            The unit vectors ``v_r``, one per row.
        """
        A, B, C = self.factors
        s = np.sign(np.sum(A * B, axis=0)) * np.sign(np.sum(A * C, axis=0))
        s[s == 0] = 1.0
        return self.weights * s, A.T.copy()


def flattening_rank(T: ArrayLike, *, rtol: float | None = None) -> int:
    """Numerical rank of the mode-1 flattening ``T.reshape(d1, -1)``.

    Singular values above ``rtol * s_max`` count; the default ``rtol`` is
    ``max(shape) * machine epsilon * 100``, suitable for exact tensors.
    For sample tensors pass an ``rtol`` above the noise level.

    Parameters
    ----------
    T : array_like
        A tensor of order at least 2.
    rtol : float, optional
        Relative threshold on the singular values (default: see above).

    Returns
    -------
    int
        The number of singular values above the threshold.

    Raises
    ------
    TypeError
        ``rtol`` not a number or None.
    ValueError
        ``T`` empty, of order 0 or not finite, or ``rtol`` negative.
    """
    T = as_finite_array(T, "T")
    if T.ndim < 1 or T.size == 0:
        raise ValueError(f"T: expected a non-empty tensor of order >= 1, got {describe(T)}")
    if rtol is not None:
        rtol = as_real_scalar(rtol, "rtol", low=0.0, what="a non-negative tolerance")
    s = np.linalg.svd(T.reshape(T.shape[0], -1), compute_uv=False)
    if s[0] == 0:
        return 0
    if rtol is None:
        rtol = 100 * max(T.shape) * np.finfo(float).eps
    return int(np.sum(s > rtol * s[0]))


def _diagonalize(Mg, Mh, rank):
    """Eigen-decomposition of ``M_g M_h^{-1}`` on the rank-``rank`` spaces (complex output)."""
    P, _, Qt = np.linalg.svd(Mg + Mh)
    P, Q = P[:, :rank], Qt[:rank].T
    G = P.T @ Mg @ Q
    H = P.T @ Mh @ Q
    # G H^{-1} = (P^T A) D_g D_h^{-1} (P^T A)^{-1}
    evals, evecs = np.linalg.eig(np.linalg.solve(H.T, G.T).T)
    return P, evals, evecs


def eigenvalue_separation(eigenvalues: ArrayLike) -> float:
    """Score of a Jennrich draw: smallest eigenvalue gap relative to the largest modulus.

    ``min_{r != s} |lambda_r - lambda_s| / max_r |lambda_r|`` when the eigenvalues
    are real; a draw with complex eigenvalues (noise has pushed two real
    eigenvalues into a conjugate pair) scores ``-max |Im| / max |lambda|``, below
    every real draw. Larger is better: well-separated eigenvalues make the
    eigenvectors stable (Davis-Kahan).

    Parameters
    ----------
    eigenvalues : array_like of shape (r,)
        Eigenvalues of one draw (real or complex).

    Returns
    -------
    float
        The score; larger is better.

    Raises
    ------
    TypeError
        ``eigenvalues`` not an array of numbers.
    ValueError
        ``eigenvalues`` not 1-D or not finite.
    """
    if isinstance(eigenvalues, (str, bytes, dict)) or eigenvalues is None:
        raise InputTypeError(f"eigenvalues: expected an array of numbers, got {describe(eigenvalues)}")
    try:
        lam = np.asarray(eigenvalues, dtype=complex)
    except (TypeError, ValueError):
        raise InputTypeError(
            f"eigenvalues: expected an array of numbers, got {describe(eigenvalues)}"
        ) from None
    if lam.ndim != 1:
        raise ValueError(f"eigenvalues: expected a 1-D array, got {describe(lam)}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues: expected finite values, got NaN or infinite entries")
    if not np.iscomplexobj(eigenvalues):
        lam = lam.real
    scale = float(np.max(np.abs(lam))) if lam.size else 0.0
    if scale == 0:
        return 0.0
    imag = float(np.max(np.abs(np.imag(lam))))
    if imag > 1e-10 * scale:
        return -imag / scale
    re = np.sort(np.real(lam))
    if re.size < 2:
        return 1.0
    return float(np.min(np.diff(re)) / scale)


def simultaneous_diagonalization(
    Mg: ArrayLike, Mh: ArrayLike, rank: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Columns ``a_r`` from two slices ``M_g = A D_g B^T`` and ``M_h = A D_h B^T``.

    The slices are projected onto their rank-``rank`` column and row spaces,
    then ``M_g M_h^{-1}`` is diagonalised. Returns ``(A, eigenvalues)`` with
    unit columns; under noise, complex parts are dropped.

    Parameters
    ----------
    Mg, Mh : array_like of shape (d1, d2)
        The two slices ``T[., ., g]`` and ``T[., ., h]``.
    rank : int
        The rank ``r`` of the decomposition.

    Returns
    -------
    A : numpy.ndarray of shape (d1, rank)
        Unit columns ``a_r``, each up to sign.
    eigenvalues : numpy.ndarray of shape (rank,)
        The eigenvalues of ``M_g M_h^{-1}`` (the ratios ``D_g / D_h``).

    Raises
    ------
    TypeError
        ``rank`` not an integer.
    ValueError
        ``Mg`` not a non-empty finite matrix, ``Mh`` not finite of its shape, or
        ``rank`` outside ``[1, min(Mg.shape)]``.
    """
    Mg = as_finite_array(Mg, "Mg", ndim=2, nonempty=True)
    Mh = as_finite_array(Mh, "Mh", shape=Mg.shape)
    rank = as_int_in_range(rank, "rank", 1, min(Mg.shape))
    P, evals, evecs = _diagonalize(Mg, Mh, rank)
    A = P @ np.real(evecs)
    A /= np.linalg.norm(A, axis=0, keepdims=True)
    return A, np.real(evals)


def _best_eigenvectors(draw_slices, rank, n_trials, average):
    """Shared trial loop of :func:`jennrich` and :func:`jennrich_slices`.

    ``draw_slices()`` returns one random pair ``(M_g, M_h)``; each pair is
    diagonalised (:func:`simultaneous_diagonalization`) and the draw with the
    best-separated eigenvalues wins, or, with ``average``, the columns of all
    draws are matched to the winner (up to sign) and averaged.
    """
    draws = []
    for _ in range(n_trials):
        A, evals = simultaneous_diagonalization(*draw_slices(), rank)
        draws.append((eigenvalue_separation(evals), A))
    A = max(draws, key=lambda draw: draw[0])[1]
    if average and n_trials > 1:
        total = np.zeros_like(A)
        for _, At in draws:
            cos = A.T @ At  # (rank, rank)
            rows, cols = linear_sum_assignment(-np.abs(cos))
            total[:, rows] += At[:, cols] * np.sign(cos[rows, cols])
        A = total / np.linalg.norm(total, axis=0, keepdims=True)
    return A


def jennrich(
    T: ArrayLike, rank: int | None = None, *, rng: int | np.random.Generator | None = None,
    n_trials: int = 1, average: bool = False,
) -> CPDecomposition:
    """Jennrich's algorithm: the CP decomposition of a third-order tensor.

    Parameters
    ----------
    T : array_like of shape (d1, d2, d3)
    rank : int, optional
        Number of rank-one terms; by default the numerical rank of the
        mode-1 flattening (:func:`flattening_rank`).
    rng : None, int or numpy.random.Generator
        For the random contraction vectors ``g, h``.
    n_trials : int, default 1
        Number of random pairs ``(g, h)`` drawn. With ``n_trials > 1`` and
        ``average=False`` the draw whose eigenvalues are best separated
        (:func:`eigenvalue_separation`) is kept: under noise the eigenvectors
        of ``M_g M_h^{-1}`` are stable only when the eigenvalues are apart.
    average : bool, default False
        Instead average the first factors of all ``n_trials`` draws: the
        columns of every draw are matched to those of the best-separated draw
        (up to sign, by ``scipy.optimize.linear_sum_assignment`` on
        ``|cos|``), flipped and averaged. Under noise this reduces the
        variance of each factor; with exact tensors it changes nothing.

    Returns
    -------
    CPDecomposition
        Unit-norm factors (each determined up to sign; the sign is folded into
        the weight), and the relative residual on ``T``.

    Raises
    ------
    ValueError
        If ``T`` is not a finite 3-D array, ``rank`` exceeds ``min(d1, d2)``
        (Jennrich needs the first two factor matrices of full column rank),
        or ``n_trials`` is not a positive integer.
        ``n_trials`` above ``MAX_REPETITIONS`` (10**6) is refused before any work.

    See Also
    --------
    jennrich_slices : The same algorithm from given slices.
    cp_als : Alternating least squares, the usual baseline.
    tensor_power_method : The symmetric, orthogonal alternative.

    References
    ----------
    * Harshman, *Foundations of the PARAFAC procedure*, UCLA Working Papers in
      Phonetics 16, 1970; Leurgans, Ross and Abel, *A Decomposition for Three-Way
      Arrays*, SIAM J. Matrix Anal. Appl. 14(4), 1993.
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((5, 3))
    >>> T = np.einsum("ir,jr,kr->ijk", A, A, A)
    >>> cp = jennrich(T, 3, rng=1)
    >>> cp.residual < 1e-12
    True
    """
    T = as_finite_array(T, "T", ndim=3, nonempty=True)
    d1, d2, d3 = T.shape
    rng = as_rng(rng)
    if rank is None:
        rank = flattening_rank(T)
        if rank == 0:
            raise ValueError("T: expected a non-zero tensor, got all zeros")
    rank = as_positive_int(rank, "rank")
    if rank > min(d1, d2):
        raise ValueError(
            f"rank: Jennrich's algorithm needs rank <= min(d1, d2) = {min(d1, d2)}, got {rank}"
        )
    n_trials = as_repetitions(n_trials, "n_trials")

    def draw_slices():
        g, h = rng.standard_normal((2, d3))
        return T @ g, T @ h

    A = _best_eigenvectors(draw_slices, rank, n_trials, average)
    # Given A, each row of A^+ T_(1) is lambda_r vec(b_r c_r^T): a rank-one matrix.
    K = np.linalg.lstsq(A, T.reshape(d1, d2 * d3), rcond=None)[0].reshape(rank, d2, d3)
    weights = np.empty(rank)
    B = np.empty((d2, rank))
    C = np.empty((d3, rank))
    for r in range(rank):
        u, s, vt = np.linalg.svd(K[r])
        weights[r], B[:, r], C[:, r] = s[0], u[:, 0], vt[0]
    cp = CPDecomposition(weights, (A, B, C), 0.0)
    norm = np.linalg.norm(T)
    residual = float(np.linalg.norm(T - cp.to_tensor()) / norm) if norm > 0 else 0.0
    return CPDecomposition(weights, (A, B, C), residual)


def jennrich_slices(
    slices: ArrayLike, reference: ArrayLike, rank: int | None = None, *,
    rng: int | np.random.Generator | None = None, n_trials: int = 1, average: bool = False,
) -> np.ndarray:
    """Jennrich's eigenvector step from precomputed slices (contracted moments).

    For slices ``M_j = A D_j B^T`` (e.g. ``T_3[., ., e_j]`` computed by
    :class:`relulib.HermiteMomentAccumulator`) and a reference slice
    ``R = A D_0 B^T`` with ``D_0`` invertible, the random combination
    ``M_g = sum_j g_j M_j`` satisfies ``M_g R^{-1} = A D_g D_0^{-1} A^{-1}``
    on the rank-``rank`` spaces: its eigenvectors are the columns of ``A``.
    With ``R`` a second random combination this is :func:`jennrich`; with
    ``R = T_2`` (ATV21: coefficients ``a_i phi(b_i) != 0``) the reference
    slice is well conditioned even when some terms vanish from the ``M_j``.

    Parameters
    ----------
    slices : array_like of shape (p, d1, d2)
    reference : array_like of shape (d1, d2), optional
        ``None`` draws a second random combination of the slices.
    rank : int, optional
        Default: numerical rank of ``reference`` (or of the slices).
    rng : None, int or numpy.random.Generator
    n_trials : int, default 1
        Random combinations tried; the best-separated eigenvalues win
        (:func:`eigenvalue_separation`).
    average : bool, default False
        Average the matched columns of all trials instead (see :func:`jennrich`).

    Returns
    -------
    ndarray of shape (d1, rank)
        Unit columns, each up to sign.

    Raises
    ------
    ValueError
        On shapes, non-finite values, or ``rank > min(d1, d2)``.
        ``n_trials`` above ``MAX_REPETITIONS`` (10**6) is refused before any work.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = np.linalg.qr(rng.standard_normal((4, 4)))[0][:, :3]
    >>> slices = np.einsum("ir,jr,pr->pij", A, A, rng.standard_normal((5, 3)))
    >>> est = jennrich_slices(slices, A @ A.T, rng=1)
    >>> bool(np.allclose(np.abs(est.T @ A).max(axis=0), 1.0))
    True
    """
    S = as_finite_array(slices, "slices", ndim=3, nonempty=True)
    p, d1, d2 = S.shape
    rng = as_rng(rng)
    R = None if reference is None else as_finite_array(reference, "reference", shape=(d1, d2))
    if rank is None:
        rank = flattening_rank(S.sum(axis=0) if R is None else R)
        rank = max(rank, 1)
    rank = as_positive_int(rank, "rank")
    if rank > min(d1, d2):
        raise ValueError(f"rank: expected rank <= min(d1, d2) = {min(d1, d2)}, got {rank}")
    n_trials = as_repetitions(n_trials, "n_trials")

    def draw_slices():
        g = rng.standard_normal(p)
        Mh = R if R is not None else np.tensordot(rng.standard_normal(p), S, axes=1)
        return np.tensordot(g, S, axes=1), Mh

    return _best_eigenvectors(draw_slices, rank, n_trials, average)


def khatri_rao(A: ArrayLike, B: ArrayLike) -> np.ndarray:
    """Column-wise Kronecker product ``[a_r (x) b_r]_r`` of shape (d1 d2, m).

    Parameters
    ----------
    A : array_like of shape (d1, m)
        First factor.
    B : array_like of shape (d2, m)
        Second factor, with the same number of columns.

    Returns
    -------
    numpy.ndarray of shape (d1 d2, m)
        Column ``r`` is ``kron(A[:, r], B[:, r])``.

    Raises
    ------
    ValueError
        ``A`` or ``B`` not finite 2-D arrays with the same number of columns, or
        products that overflow.
    """
    A = as_finite_array(A, "A", ndim=2)
    B = as_finite_array(B, "B", ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"B: expected {A.shape[1]} columns like A, got shape {B.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = (A[:, None, :] * B[None, :, :]).reshape(-1, A.shape[1])
    return check_finite_result(out, "the products a_r (x) b_r", inputs="A, B",
                               hint="expected factors of moderate scale")


def cp_als(
    T: ArrayLike, rank: int, *, rng: int | np.random.Generator | None = None,
    max_iter: int = 500, tol: float = 1e-12,
) -> CPDecomposition:
    """CP decomposition by alternating least squares from a random start (the usual baseline).

    Each sweep solves ``A = T_(1) (C (.) B) [(C^T C) * (B^T B)]^+`` and its
    two cyclic analogues (Kolda and Bader 2009, Section 3.4). No guarantee:
    ALS may stall in "swamps" or local minima, which the chapter "Tensor
    decomposition" compares with Jennrich's algorithm.

    Parameters
    ----------
    T : array_like of shape (d1, d2, d3)
    rank : int
    rng : None, int or numpy.random.Generator
    max_iter : int, default 500
    tol : float, default 1e-12
        Stop when the relative residual changes by less than ``tol``.

    Returns
    -------
    CPDecomposition

    Raises
    ------
    TypeError
        ``rank`` or ``max_iter`` not an integer, or ``tol`` not a real number.
    ValueError
        ``T`` not a non-empty finite 3-way array, ``rank`` or ``max_iter`` below
        1, ``tol`` negative, a bad ``rng``, or a norm of ``T`` that overflows.
        ``max_iter`` above ``MAX_REPETITIONS`` (10**6) is refused before any work;
        ``rank`` is refused before any allocation if the Khatri-Rao products
        (``rank (d1 d2 + d1 d3 + d2 d3)`` entries) would have more than
        ``MAX_ARRAY_ENTRIES`` (2**31) entries.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((4, 2))
    >>> T = np.einsum("ir,jr,kr->ijk", A, A, A)
    >>> cp_als(T, 2, rng=1).residual < 1e-6
    True
    """
    T = as_finite_array(T, "T", ndim=3, nonempty=True)
    rank = as_positive_int(rank, "rank")
    max_iter = as_repetitions(max_iter, "max_iter")
    tol = as_real_scalar(tol, "tol", low=0.0, what="a non-negative number")
    rng = as_rng(rng)
    d1, d2, d3 = T.shape
    check_array_entries("rank", (rank, d1 * d2 + d1 * d3 + d2 * d3), "Khatri-Rao products")
    check_finite_result(np.linalg.norm(T), "the norm of T", inputs="T",
                        hint="expected a tensor of moderate scale: rescale it")
    F = [rng.standard_normal((dim, rank)) for dim in (d1, d2, d3)]
    unfold = [
        T.reshape(d1, -1),  # T_(1)[i, (j, k)]
        np.moveaxis(T, 1, 0).reshape(d2, -1),  # [j, (i, k)]
        np.moveaxis(T, 2, 0).reshape(d3, -1),  # [k, (i, j)]
    ]
    norm = np.linalg.norm(T)
    previous = np.inf
    for _ in range(max_iter):
        for mode in range(3):
            others = [F[o] for o in range(3) if o != mode]
            KR = khatri_rao(others[0], others[1])
            gram = (others[0].T @ others[0]) * (others[1].T @ others[1])
            F[mode] = np.linalg.solve(gram.T, (unfold[mode] @ KR).T).T if np.linalg.cond(gram) < 1e12 \
                else unfold[mode] @ KR @ np.linalg.pinv(gram)
        approx = np.einsum("ir,jr,kr->ijk", *F)
        residual = float(np.linalg.norm(T - approx) / norm) if norm > 0 else 0.0
        if abs(previous - residual) < tol:
            break
        previous = residual
    norms = [np.linalg.norm(f, axis=0) for f in F]
    weights = norms[0] * norms[1] * norms[2]
    factors = tuple(f / np.where(nf > 0, nf, 1.0) for f, nf in zip(F, norms))
    return CPDecomposition(weights, factors, residual)


def slice_als(S, A, sweeps):
    """A few sweeps of alternating least squares on ``S[r] = A diag(C_r) A^T``, started at ``A``.

    Shared by BJW19's deflated directions and ATV21's tensor stage (public to the
    package, not part of the API). ``S`` has shape (m, p, p), ``A`` (p, q). The two first-mode factors are updated separately
    (ordinary three-way ALS) and averaged at the end; returns unit columns. Started
    from Jennrich's answer, a few sweeps take it to the least-squares fit of all
    ``m`` slices instead of a random pair of their combinations.
    """
    m, p, _ = S.shape
    T = np.moveaxis(S, 0, 2)  # (p, p, m)
    unfold_a = T.reshape(p, -1)
    unfold_b = np.moveaxis(T, 1, 0).reshape(p, -1)
    unfold_c = np.moveaxis(T, 2, 0).reshape(m, -1)

    def kr(F, G):  # column-wise Kronecker product
        return (F[:, None, :] * G[None, :, :]).reshape(-1, F.shape[1])

    B = A.copy()
    C = np.linalg.lstsq(kr(A, B), unfold_c.T, rcond=None)[0].T
    for _ in range(sweeps):
        try:
            A = np.linalg.solve((B.T @ B) * (C.T @ C), (unfold_a @ kr(B, C)).T).T
            B = np.linalg.solve((A.T @ A) * (C.T @ C), (unfold_b @ kr(A, C)).T).T
            C = np.linalg.solve((A.T @ A) * (B.T @ B), (unfold_c @ kr(A, B)).T).T
        except np.linalg.LinAlgError:  # a degenerate start: keep what we have
            break
    A = A / np.linalg.norm(A, axis=0)
    B = B / np.linalg.norm(B, axis=0)
    A = A + B * np.where(np.sum(A * B, axis=0) < 0, -1.0, 1.0)
    return A / np.linalg.norm(A, axis=0)


def jennrich_perturbation_bound(
    A: ArrayLike, weights: ArrayLike, g: ArrayLike, h: ArrayLike, E_g: ArrayLike,
    E_h: ArrayLike,
) -> float:
    """Upper bound on the eigenvector error of Jennrich's step under slice noise.

    For ``T = sum_r weights[r] a_r (x) a_r (x) a_r`` with a square invertible
    ``A = [a_r]`` (unit columns), the exact slices are
    ``M_g = A diag(weights * A^T g) A^T``; the noisy ones are ``M_g + E_g`` and
    ``M_h + E_h``. With ``X = M_g M_h^{-1} = A Lambda A^{-1}``,
    ``Lambda = diag(a_r.g / a_r.h)`` and ``delta`` the smallest gap between
    the ratios, the chapter "Jennrich's algorithm, proved" shows

    ``|(M_g+E_g)(M_h+E_h)^{-1} - X| <= phi = (e_g + |X| e_h) / (s_min(M_h) - e_h)``

    (spectral norms, ``e = |E|_2``), ``gamma = kappa(A) phi``, and, when
    ``gamma < delta / 2``, for every ``r`` an eigenvector ``v_r`` of the noisy
    pencil with ``sin angle(v_r, a_r) <= s_max(A) gamma / (delta - 2 gamma)``.

    Parameters
    ----------
    A : array_like of shape (R, R)
        Invertible factor matrix; columns are normalised here.
    weights : array_like of shape (R,)
        Non-zero weights of the rank-one terms (after normalising the columns).
    g, h : array_like of shape (R,)
        The contraction vectors.
    E_g, E_h : array_like of shape (R, R)
        The perturbations of the two slices.

    Returns
    -------
    float
        The bound on ``max_r sin angle``; ``inf`` when the condition
        ``gamma < delta / 2`` (or ``e_h < s_min(M_h)``) fails.

    Raises
    ------
    ValueError
        On shapes, non-finite values, a singular ``A`` or a slice ``M_h`` that
        is singular (some ``a_r.h = 0`` or weight zero).

    Examples
    --------
    >>> A = np.eye(2)
    >>> z = np.zeros((2, 2))
    >>> jennrich_perturbation_bound(A, [1.0, 1.0], [1.0, 2.0], [1.0, 1.0], z, z)
    0.0
    """
    A = as_finite_array(A, "A", ndim=2)
    R = A.shape[0]
    if A.shape != (R, R):
        raise ValueError(f"A: expected a square matrix, got shape {A.shape}")
    norms = np.linalg.norm(A, axis=0)
    if np.any(norms == 0):
        raise ValueError("A: expected non-zero columns, got a zero column")
    weights = as_finite_array(weights, "weights", shape=(R,)) * norms**3
    A = A / norms
    g = as_finite_array(g, "g", shape=(R,))
    h = as_finite_array(h, "h", shape=(R,))
    E_g = as_finite_array(E_g, "E_g", shape=(R, R))
    E_h = as_finite_array(E_h, "E_h", shape=(R, R))
    s = np.linalg.svd(A, compute_uv=False)
    if s[-1] <= 1e-14 * s[0]:
        raise ValueError("A: expected an invertible matrix, got a numerically singular one")
    dh = weights * (A.T @ h)
    if np.any(np.abs(dh) <= 1e-300):
        raise ValueError("h: expected a_r.h != 0 and non-zero weights (M_h invertible)")
    ratios = (A.T @ g) / (A.T @ h)
    kappa = float(s[0] / s[-1])
    M_h = A @ np.diag(dh) @ A.T
    X = A @ np.diag(ratios) @ np.linalg.inv(A)
    e_g, e_h = float(np.linalg.norm(E_g, 2)), float(np.linalg.norm(E_h, 2))
    s_min_h = float(np.linalg.svd(M_h, compute_uv=False)[-1])
    if e_h >= s_min_h:
        return float("inf")
    phi = (e_g + float(np.linalg.norm(X, 2)) * e_h) / (s_min_h - e_h)
    gamma = kappa * phi
    sr = np.sort(ratios)
    delta = float(np.min(np.diff(sr))) if R > 1 else np.inf
    if not gamma < delta / 2:
        return float("inf")
    if gamma == 0:
        return 0.0
    return float(s[0] * gamma / (delta - 2 * gamma))


def whiten(M: ArrayLike, rank: int) -> np.ndarray:
    """Whitening matrix of a symmetric matrix of rank ``rank``.

    For ``M = sum_i c_i a_i a_i^T`` with ``c_i > 0`` and linearly independent
    ``a_i``, returns ``W`` of shape (d, rank) with ``W^T M W = I``: the top
    ``rank`` eigenvectors (by modulus of the eigenvalue) scaled by
    ``|eigenvalue|^{-1/2}``. Then the vectors ``sqrt(c_i) W^T a_i`` are
    orthonormal (Anandkumar et al. 2014). If all ``c_i`` are
    negative pass ``-M``; with mixed signs ``W^T M W`` is a signature matrix
    and orthogonality is lost.

    Parameters
    ----------
    M : array_like of shape (d, d)
        Symmetric matrix (a noisy estimate is symmetrised).
    rank : int
        Number of eigenpairs kept, ``1 <= rank <= d``.

    Returns
    -------
    ndarray of shape (d, rank)

    Raises
    ------
    ValueError
        If ``M`` is not a finite square matrix, ``rank`` is out of range, or
        the kept eigenvalues include zero.

    Examples
    --------
    >>> M = np.diag([4.0, 1.0, 0.0])
    >>> W = whiten(M, 2)
    >>> bool(np.allclose(W.T @ M @ W, np.eye(2)))
    True
    """
    M = as_finite_array(M, "M", ndim=2, nonempty=True)
    d = M.shape[0]
    if M.shape != (d, d):
        raise ValueError(f"M: expected a square matrix, got shape {M.shape}")
    rank = as_positive_int(rank, "rank")
    if rank > d:
        raise ValueError(f"rank: expected rank <= d = {d}, got {rank}")
    evals, evecs = np.linalg.eigh((M + M.T) / 2)
    keep = np.argsort(-np.abs(evals))[:rank]
    lam = evals[keep]
    if np.min(np.abs(lam)) <= 1e-14 * max(np.max(np.abs(evals)), 1e-300):
        raise ValueError(
            f"M: expected {rank} non-zero eigenvalues, got eigenvalues {np.abs(lam).tolist()}"
        )
    return evecs[:, keep] / np.sqrt(np.abs(lam))


def _check_symmetric_cube(T, name="T"):
    T = as_finite_array(T, name, ndim=3)
    r = T.shape[0]
    if T.shape != (r, r, r):
        raise ValueError(f"{name}: expected a cubical tensor of shape (r, r, r), got shape {T.shape}")
    return T


def tensor_power_method(
    T: ArrayLike, rank: int | None = None, *, n_starts: int = 10, n_iter: int = 100,
    tol: float = 1e-12, rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric tensor power method with deflation (several random starts per component).

    For an orthogonally decomposable ``T = sum_i lambda_i v_i (x) v_i (x) v_i``
    (orthonormal ``v_i``) the map ``u -> T(I, u, u) / |T(I, u, u)|`` converges
    from almost every start to one of the ``v_i``; after each component is
    found, ``lambda v (x) v (x) v`` is subtracted (deflation). Of ``n_starts``
    random starts per component the one with the largest ``|T(u, u, u)|``
    after ``n_iter`` iterations is kept and refined for another ``n_iter``
    iterations (Anandkumar, Ge, Hsu, Kakade, Telgarsky 2014, Algorithm 1,
    without their robustness thresholds). A heuristic under noise; exact
    convergence is proved only for orthogonally decomposable tensors.

    Parameters
    ----------
    T : array_like of shape (r, r, r)
        Symmetric tensor (e.g. a whitened third moment; the symmetric part is used).
    rank : int, optional
        Number of components; default ``r``.
    n_starts : int, default 10
    n_iter : int, default 100
    tol : float, default 1e-12
        Stop iterating once ``|u_new - u| < tol``.
    rng : None, int or numpy.random.Generator
        For the random starts.

    Returns
    -------
    weights : ndarray of shape (rank,)
    vectors : ndarray of shape (rank, r)
        Unit vectors, one per row; ``T ~ sum_i weights[i] vectors[i]^{(x)3}``.

    Raises
    ------
    ValueError
        If ``T`` is not a finite cubical 3-D array, or ``rank``, ``n_starts``,
        ``n_iter`` are not positive integers with ``rank <= r``.
        ``n_starts``, ``n_iter`` above ``MAX_REPETITIONS`` (10**6) are refused before
        any work.

    Examples
    --------
    >>> V = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    >>> T = np.einsum("i,ai,bi,ci->abc", [3.0, 2.0, 1.0], V, V, V)
    >>> lam, vec = tensor_power_method(T, rng=1)
    >>> bool(np.allclose(np.sort(lam), [1.0, 2.0, 3.0]))
    True
    """
    T = _check_symmetric_cube(T)
    r = T.shape[0]
    rank = r if rank is None else as_positive_int(rank, "rank")
    if rank > r:
        raise ValueError(f"rank: expected rank <= r = {r}, got {rank}")
    n_starts = as_repetitions(n_starts, "n_starts")
    n_iter = as_repetitions(n_iter, "n_iter")
    rng = as_rng(rng)
    # symmetrise: a noisy estimate need not be exactly symmetric
    T = sum(np.transpose(T, p) for p in
            [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]) / 6

    def iterate(u, steps):
        for _ in range(steps):
            v = np.einsum("ijk,j,k->i", T, u, u)
            nv = np.linalg.norm(v)
            if nv == 0:
                return u
            v /= nv
            done = np.linalg.norm(v - u) < tol
            u = v
            if done:
                break
        return u

    weights = np.empty(rank)
    vectors = np.empty((rank, r))
    for c in range(rank):
        best, best_value = None, -1.0
        for _ in range(n_starts):
            u = rng.standard_normal(r)
            u = iterate(u / np.linalg.norm(u), n_iter)
            value = abs(float(np.einsum("ijk,i,j,k->", T, u, u, u)))
            if value > best_value:
                best, best_value = u, value
        u = iterate(best, n_iter)
        lam = float(np.einsum("ijk,i,j,k->", T, u, u, u))
        weights[c], vectors[c] = lam, u
        T = T - lam * np.einsum("i,j,k->ijk", u, u, u)
    return weights, vectors


def whitened_power_decomposition(
    M: ArrayLike, T: ArrayLike, rank: int, *, n_starts: int = 10, n_iter: int = 100,
    rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric CP decomposition by whitening with ``M`` and the tensor power method.

    For ``M = sum_i c_i a_i a_i^T`` (``c_i > 0``) and
    ``T = sum_i tau_i a_i^{(x)3}`` with linearly independent ``a_i``:
    ``W = whiten(M, rank)``, the whitened tensor ``T(W, W, W) =
    sum_i tau_i c_i^{-3/2} v_i^{(x)3}`` has orthonormal ``v_i = sqrt(c_i) W^T a_i``,
    :func:`tensor_power_method` finds them, and ``a_i`` is proportional to
    ``(W^T)^+ v_i``.

    Parameters
    ----------
    M : array_like of shape (d, d)
    T : array_like of shape (d, d, d)
    rank : int
    n_starts, n_iter : int
        Passed to :func:`tensor_power_method`.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    weights : ndarray of shape (rank,)
        ``tau_i`` for unit ``a_i`` (the sign convention of
        :meth:`CPDecomposition.as_symmetric`: ``T = sum w_i v_i^{(x)3}``).
    vectors : ndarray of shape (rank, d)
        Unit vectors ``a_i``, one per row.

    Raises
    ------
    ValueError
        On shapes or values rejected by :func:`whiten` / :func:`tensor_power_method`.

    Examples
    --------
    >>> A = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 2)))[0]
    >>> M = A @ np.diag([1.0, 2.0]) @ A.T
    >>> T = np.einsum("i,ai,bi,ci->abc", [1.0, -1.0], A, A, A)
    >>> w, v = whitened_power_decomposition(M, T, 2, rng=0)
    >>> bool(np.allclose(np.sort(np.abs(v @ A), axis=1)[:, -1], 1.0))
    True
    """
    M = as_finite_array(M, "M", ndim=2, nonempty=True)
    T = as_finite_array(T, "T", ndim=3, nonempty=True)
    d = M.shape[0]
    if T.shape != (d, d, d):
        raise ValueError(f"T: expected shape ({d}, {d}, {d}) to match M, got shape {T.shape}")
    W = whiten(M, rank)
    Tw = np.einsum("abc,ai,bj,ck->ijk", T, W, W, W)
    # the power iterations square its entries: its norm must stay finite
    check_finite_result(np.linalg.norm(Tw), "the norm of the whitened tensor T(W, W, W)",
                        inputs="M, T", hint="expected M and T of moderate scale: rescale them")
    lam, V = tensor_power_method(Tw, rank, n_starts=n_starts, n_iter=n_iter, rng=rng)
    A = np.linalg.pinv(W.T) @ V.T  # (d, rank): columns proportional to a_i
    norms = np.linalg.norm(A, axis=0)
    A = A / norms
    # T(W,W,W) = sum lam_i v_i^3 and v_i = W^T a_i * norm_i  =>  tau_i = lam_i norm_i^3
    weights = check_finite_result(lam * norms**3, "the weights lam_i |a_i|^3", inputs="M, T",
                                  hint="expected M and T of moderate scale: rescale them")
    return weights, A.T.copy()
