"""Jennrich's algorithm for third-order tensors (simultaneous diagonalisation).

Harshman (1970) credits the argument to R. I. Jennrich; Leurgans, Ross and
Abel (1993) give the algorithm; Moitra (2018, Section 3.3) a textbook account.
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

from ._validation import as_finite_array, as_positive_int, as_rng

__all__ = ["CPDecomposition", "flattening_rank", "simultaneous_diagonalization", "jennrich"]


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
        return self.weights.shape[0]

    def to_tensor(self) -> np.ndarray:
        """The tensor ``sum_r weights[r] a_r (x) b_r (x) c_r``."""
        A, B, C = self.factors
        return np.einsum("r,ir,jr,kr->ijk", self.weights, A, B, C)

    def as_symmetric(self):
        """Read a decomposition of a symmetric tensor as ``sum_r w_r v_r^{(x)3}``.

        Each ``a_r`` is kept as ``v_r``; the signs of ``b_r, c_r`` relative to
        ``a_r`` are folded into the weight. Returns ``(weights (r,), vectors (r, d))``.
        """
        A, B, C = self.factors
        s = np.sign(np.sum(A * B, axis=0)) * np.sign(np.sum(A * C, axis=0))
        s[s == 0] = 1.0
        return self.weights * s, A.T.copy()


def flattening_rank(T, *, rtol=None) -> int:
    """Numerical rank of the mode-1 flattening ``T.reshape(d1, -1)``.

    Singular values above ``rtol * s_max`` count; the default ``rtol`` is
    ``max(shape) * machine epsilon * 100``, suitable for exact tensors.
    For sample tensors pass an ``rtol`` above the noise level.
    """
    T = np.asarray(T, dtype=float)
    s = np.linalg.svd(T.reshape(T.shape[0], -1), compute_uv=False)
    if s[0] == 0:
        return 0
    if rtol is None:
        rtol = 100 * max(T.shape) * np.finfo(float).eps
    return int(np.sum(s > rtol * s[0]))


def simultaneous_diagonalization(Mg, Mh, rank):
    """Columns ``a_r`` from two slices ``M_g = A D_g B^T`` and ``M_h = A D_h B^T``.

    The slices are projected onto their rank-``rank`` column and row spaces,
    then ``M_g M_h^{-1}`` is diagonalised. Returns ``(A, eigenvalues)`` with
    unit columns; under noise, complex parts are dropped.
    """
    Mg = np.asarray(Mg, dtype=float)
    Mh = np.asarray(Mh, dtype=float)
    P, _, Qt = np.linalg.svd(Mg + Mh)
    P, Q = P[:, :rank], Qt[:rank].T
    G = P.T @ Mg @ Q
    H = P.T @ Mh @ Q
    # G H^{-1} = (P^T A) D_g D_h^{-1} (P^T A)^{-1}
    evals, evecs = np.linalg.eig(np.linalg.solve(H.T, G.T).T)
    A = P @ np.real(evecs)
    A /= np.linalg.norm(A, axis=0, keepdims=True)
    return A, np.real(evals)


def jennrich(T, rank=None, *, rng=None) -> CPDecomposition:
    """Jennrich's algorithm: the CP decomposition of a third-order tensor.

    Parameters
    ----------
    T : array_like of shape (d1, d2, d3)
    rank : int, optional
        Number of rank-one terms; by default the numerical rank of the
        mode-1 flattening (:func:`flattening_rank`).
    rng : None, int or numpy.random.Generator
        For the random contraction vectors ``g, h``.

    Returns
    -------
    CPDecomposition
        Unit-norm factors (each determined up to sign; the sign is folded into
        the weight), and the relative residual on ``T``.

    Raises
    ------
    ValueError
        If ``T`` is not a finite 3-D array or ``rank`` exceeds ``min(d1, d2)``
        (Jennrich needs the first two factor matrices of full column rank).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((5, 3))
    >>> T = np.einsum("ir,jr,kr->ijk", A, A, A)
    >>> cp = jennrich(T, 3, rng=1)
    >>> cp.residual < 1e-12
    True
    """
    T = as_finite_array(T, "T", ndim=3)
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
    g, h = rng.standard_normal((2, d3))
    A, _ = simultaneous_diagonalization(T @ g, T @ h, rank)
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
