"""The least-squares core of activation-pattern fitting, shared by polishing and FPT.

A ReLU network is linear in the products ``u_i x~^T`` once the activation
pattern of every sample is fixed. :class:`PatternLeastSquares` solves that
linear problem for a given pattern, and re-solves it cheaply as the pattern
changes. Two iterations use it: :func:`relulib.refine_by_patterns` (polishing,
with biases as an extra input column ``x~ = (x, 1)``, a margin and a patience
rule, which keeps its own loop over :meth:`PatternLeastSquares.solve`) and the
candidate search of :func:`relulib.recover_fpt`, which runs
:meth:`PatternLeastSquares.fit_units` (bias-free units in the coordinates of a
span, with an ``intercept`` for a constant output offset). Not part of the
public API: the name is public to the package only.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = ["PatternLeastSquares"]


class PatternLeastSquares:
    """Least squares over activation-pattern designs, re-solved as the pattern changes.

    For a pattern ``E`` (n x k, boolean) and kept rows ``w`` (n, boolean) the
    design matrix is

        F = [w * E_1 * x~, ..., w * E_k * x~ (, w)]        (n x (k q [+ 1]))

    where ``x~`` are the rows of ``Xa`` (``(x, 1)`` when biases are fitted; ``q``
    columns) and the last column, with ``intercept``, fits a constant offset.
    :meth:`solve` returns ``argmin |F theta - Y|``.

    Cost. ``F`` is tall (``n`` rows, a few hundred columns) and, once every
    unit is active on enough samples, well conditioned. The normal equations
    ``G theta = F^T Y`` with ``G = F^T F`` are kept between calls and updated
    only in the rows whose pattern changed (after the first iterations of the
    pattern iteration, a small fraction), so a call costs a Cholesky
    factorisation of ``G`` plus a few products with ``F``, which is never
    formed: ``F theta`` and ``F^T R`` are computed unit by unit from ``Xa``.
    Accuracy. Two or three steps of iterative refinement with the true
    residual, ``theta += G^{-1} F^T (Y - F theta)``, bring the solution to the
    accuracy of a QR solve (iterative refinement for least squares: Bjorck,
    *Numerical Methods for Least Squares Problems*, SIAM 1996); each step
    contracts the error by about ``cond(F)^2 eps``, and the refinement also
    removes the rounding that the updates of ``G`` accumulate. If the
    factorisation fails or the steps do not settle to rounding (a unit that is
    never active, two units with the same pattern), ``G`` is inverted on the
    span of its eigenvectors with eigenvalues above ``1e-10`` times the
    largest (directions along which ``cond(F) > 1e5`` are dropped, as a
    truncated SVD of ``F`` would), again with refinement; LAPACK's ``gelsy`` on
    the full ``F`` is the last resort.
    At ``n = 2e4`` with 510 unknowns a first solve is about 15 times cheaper
    than ``gelsy``, and later solves several times cheaper again.
    """

    _CHUNK_FLOATS = 2**18  # F is formed about 2 MiB at a time when G is built from scratch

    def __init__(self, Xa: np.ndarray, Y: np.ndarray, intercept: bool = False):
        self.Xa, self.Y, self.intercept = Xa, Y, bool(intercept)
        self._E = self._keep = self._G = self._FtY = None

    def _features(self, rows, E, keep) -> np.ndarray:
        Xr = self.Xa[rows]
        F = (E[:, :, None] * Xr[:, None, :]).reshape(Xr.shape[0], -1)
        if self.intercept:
            F = np.hstack([F, keep[:, None].astype(float)])
        return F

    def design(self) -> np.ndarray:
        """The full design matrix of the current pattern (for the fallback and for tests)."""
        return self._features(slice(None), self._E, self._keep)

    def _unit_blocks(self, theta):
        k, q = self._E.shape[1], self.Xa.shape[1]
        return theta[: k * q].reshape(k, q, -1)  # (k, q, m)

    def apply(self, theta: np.ndarray) -> np.ndarray:
        """``F theta`` without forming ``F``."""
        n, k = self._E.shape
        T = self._unit_blocks(theta)
        m = T.shape[2]
        H = (self.Xa @ T.transpose(1, 0, 2).reshape(-1, k * m)).reshape(n, k, m)  # x~_s . theta_i
        out = np.einsum("nk,nkm->nm", self._E.astype(float), H)
        if self.intercept:
            out += self._keep[:, None] * theta[-1]
        return out

    def _apply_transpose(self, R: np.ndarray) -> np.ndarray:
        """``F^T R`` without forming ``F``."""
        n, k = self._E.shape
        m = R.shape[1]
        W = (self._E[:, :, None] * R[:, None, :]).reshape(n, k * m)
        blocks = (self.Xa.T @ W).reshape(-1, k, m).transpose(1, 0, 2).reshape(-1, m)  # (k q, m)
        if self.intercept:
            blocks = np.vstack([blocks, (self._keep[:, None] * R).sum(axis=0, keepdims=True)])
        return blocks

    def _update_normal_equations(self, E, keep) -> None:
        n = E.shape[0]
        changed = None
        if self._G is not None:
            changed = np.flatnonzero(np.any(E != self._E, axis=1) | (keep != self._keep))
        if changed is None or changed.size > n // 2:  # from scratch (in chunks) is cheaper
            p = E.shape[1] * self.Xa.shape[1] + int(self.intercept)
            G, FtY = np.zeros((p, p)), np.zeros((p, self.Y.shape[1]))
            step = max(64, self._CHUNK_FLOATS // p)
            for start in range(0, n, step):
                rows = slice(start, start + step)
                F = self._features(rows, E[rows], keep[rows])
                G += F.T @ F
                FtY += F.T @ self.Y[rows]
            self._G, self._FtY = G, FtY
        elif changed.size:
            p = self._G.shape[0]
            step = max(64, self._CHUNK_FLOATS // p)
            for start in range(0, changed.size, step):  # about 2 MiB of F at a time
                rows = changed[start : start + step]
                new = self._features(rows, E[rows], keep[rows])
                old = self._features(rows, self._E[rows], self._keep[rows])
                Yc = self.Y[rows]
                self._G += new.T @ new - old.T @ old
                self._FtY += new.T @ Yc - old.T @ Yc
        self._E, self._keep = E, keep

    def _refined(self, inverse, keep) -> np.ndarray | None:
        """Solve ``G theta = F^T Y`` with ``inverse`` and refine with the true residual.

        Returns ``None`` if the steps do not settle to rounding.
        """
        theta = inverse(self._FtY)
        previous = np.inf
        for _ in range(6):
            R = self.Y * keep[:, None] - self.apply(theta)
            delta = inverse(self._apply_transpose(R))
            theta += delta
            step, size = np.linalg.norm(delta), np.linalg.norm(theta)
            if not np.isfinite(step + size):
                return None
            # settled: the step no longer shrinks (it is at the rounding floor
            # ~ cond(F) eps) and is far below the solution
            if step <= np.finfo(float).eps * size or (step > 0.25 * previous and step <= 1e-10 * size):
                return theta
            previous = step
        return None

    def solve(self, active: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """``argmin |F theta - Y|`` for the pattern ``active`` (n x k) on the rows ``keep``."""
        keep = np.ones(active.shape[0], dtype=bool) if keep is None else keep
        self._update_normal_equations(active & keep[:, None], keep)
        theta = None
        try:
            factor = linalg.cho_factor(self._G, check_finite=False)
        except linalg.LinAlgError:
            factor = None
        if factor is not None:
            theta = self._refined(lambda b: linalg.cho_solve(factor, b, check_finite=False), keep)
        if theta is None:  # rank deficient: truncated eigendecomposition of G, then refinement
            w, Q = linalg.eigh(self._G, check_finite=False)
            Qr = Q[:, w > 1e-10 * max(w[-1], np.finfo(float).tiny)]  # drops directions with cond(F) > 1e5
            wr = w[w > 1e-10 * max(w[-1], np.finfo(float).tiny)]
            theta = self._refined(lambda b: Qr @ ((Qr.T @ b) / wr[:, None]), keep)
        if theta is None:
            theta = linalg.lstsq(self.design(), self.Y * keep[:, None], lapack_driver="gelsy",
                                 check_finite=False)[0]
        return theta

    def fit_units(
        self, W: np.ndarray, n_iter: int, step_tol: float = 1e-9,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int]:
        """Alternate patterns and least squares for bias-free ReLU units (FPT's refinement).

        With the rows of ``Xa`` as coordinates ``z`` (no bias column) and the first
        layer ``W`` (k, p): fix the patterns ``1{w_i.z > 0}``, solve one linear
        least-squares problem for ``G_i = u_i w_i^T`` (and the offset, with
        ``intercept``), read ``u_i, w_i`` from the top singular pair, repeat until the
        pattern repeats, ``W`` moves by less than ``step_tol`` or ``n_iter`` rounds.
        ``W`` is updated in place.

        Returns ``(U (m, k), W (k, p), offset (m,), residual sum of squares,
        iterations run)``.
        """
        Z, Y, intercept = self.Xa, self.Y, self.intercept
        n, p = Z.shape
        k = W.shape[0]
        m = Y.shape[1]
        U = np.zeros((m, k))
        offset = np.zeros(m)
        previous = None
        rss = np.inf
        iterations = 0
        for _ in range(n_iter):
            iterations += 1
            W_old = W.copy()
            active = (Z @ W.T) > 0
            theta = self.solve(active)
            rss = float(np.sum((Y - self.apply(theta)) ** 2))
            offset = theta[-1] if intercept else np.zeros(m)
            G = theta[: k * p].reshape(k, p, m)
            for i in range(k):
                left, s, right_t = np.linalg.svd(G[i].T, full_matrices=False)  # (m, p) = u w^T
                if s[0] == 0:
                    continue
                w = right_t[0]
                sign = 1.0 if w @ W[i] >= 0 else -1.0  # keep the half-space of the pattern
                W[i] = sign * w
                U[:, i] = sign * left[:, 0] * s[0]
            if previous is not None and np.array_equal(active, previous):
                break
            if np.max(np.abs(W - W_old)) < step_tol:  # with noise a few boundary samples may flip forever
                break
            previous = active
        return U, W, offset, rss, iterations
