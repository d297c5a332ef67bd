"""The least-squares core of activation-pattern fitting, shared by polishing and FPT.

A ReLU network is linear in the products ``u_i x~^T`` once the activation
pattern of every sample is fixed. :class:`PatternLeastSquares` solves that
linear problem for a given pattern, and re-solves it cheaply as the pattern
changes. Two iterations use it: :func:`relulib.refine_by_patterns` (polishing,
with biases as an implicit extra input column ``x~ = (x, 1)``, a margin and a patience
rule, which keeps its own loop over :meth:`PatternLeastSquares.solve`) and the
candidate search of :func:`relulib.recover_fpt`, which runs
:meth:`PatternLeastSquares.fit_units` (bias-free units in the coordinates of a
span, with an ``intercept`` for a constant output offset). Not part of the
public API: the name is public to the package only.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .moments import row_blocks

__all__ = ["PatternLeastSquares"]


class PatternLeastSquares:
    """Least squares over activation-pattern designs, re-solved as the pattern changes.

    For a pattern ``E`` (n x k, boolean) and kept rows ``w`` (n, boolean) the
    design matrix is

        F = [w * E_1 * x~, ..., w * E_k * x~ (, w)]        (n x (k q [+ 1]))

    where ``x~`` are the rows of ``Xa`` (``q`` columns), or ``(x, 1)`` with
    ``bias_column=True`` (biases fitted: the column of ones is implicit, never
    formed), and the last column, with ``intercept``, fits a constant offset.
    With ``rows`` (an index array) only the samples ``Xa[rows]``, ``Y[rows]``
    are used, fancy-indexed a chunk at a time (no copy of them is made).
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
    removes the rounding that the updates of ``G`` accumulate. Where the
    factorisation dominates (``p^2 > 48 n m`` for ``p`` unknowns, ``n`` rows and
    ``m`` outputs, as in polishing with thousands of unknowns), the Cholesky
    factor is first computed in single precision (twice as fast; with
    ``cond(F)^2`` up to about ``1e4`` the steps still contract by ``1e-3`` or
    better: mixed-precision iterative refinement, Higham, *Accuracy and
    Stability of Numerical Algorithms*, SIAM 2002, ch. 12), in double precision
    if those steps do not settle. If the
    factorisation fails or the steps do not settle to rounding (a unit that is
    never active, two units with the same pattern), ``G`` is inverted on the
    span of its eigenvectors with eigenvalues above ``1e-10`` times the
    largest (directions along which ``cond(F) > 1e5`` are dropped, as a
    truncated SVD of ``F`` would), again with refinement; LAPACK's ``gelsy`` on
    the full ``F`` is the last resort.
    Memory. Every pass over the samples (the normal equations, ``F theta``,
    ``F^T R``, the patterns, sums of squares) works on chunks of rows with
    about 2 MiB of work arrays; what is kept for all ``n`` rows is the pattern
    (``n x k`` booleans) and ``keep``, never an ``n x k`` or ``n x m`` array of
    floats (except in the ``gelsy`` last resort and :meth:`apply`, for tests).
    At ``n = 2e4`` with 510 unknowns a first solve is about 15 times cheaper
    than ``gelsy``, and later solves several times cheaper again.
    """

    _CHUNK_FLOATS = 2**18  # work arrays of one chunk of rows: about 2 MiB

    def __init__(self, Xa: np.ndarray, Y: np.ndarray, intercept: bool = False, *,
                 bias_column: bool = False, rows: np.ndarray | None = None):
        self.Xa, self.Y, self.intercept = Xa, Y, bool(intercept)
        self.bias_column = bool(bias_column)
        self.rows = rows
        self.n = Xa.shape[0] if rows is None else rows.size
        self.q = Xa.shape[1] + int(self.bias_column)
        self._E = self._keep = self._G = self._FtY = None

    def blocks(self, floats_per_row: int):
        """Chunks of the used rows: ``(pos, X_block, Y_block)``, about 2 MiB of work at a time.

        ``pos`` is a slice of the positions ``0 .. n-1`` of the used rows (the rows
        of patterns such as ``E``); the blocks are views of ``Xa``, ``Y``, or
        copies of a chunk of ``rows`` (never of all of them).
        """
        step = max(64, self._CHUNK_FLOATS // max(1, floats_per_row))
        for pos, src in row_blocks(self.Xa.shape[0], step, self.rows):
            yield pos, self.Xa[src], self.Y[src]

    def _augmented_blocks(self, floats_per_row: int):
        """As :meth:`blocks`, with the rows ``x~`` (``q`` columns): with ``bias_column``,
        ``(x, 1)`` written into one buffer of the chunk's size, reused chunk after chunk."""
        if not self.bias_column:
            yield from self.blocks(floats_per_row)
            return
        buffer = None
        for pos, Xc, Yc in self.blocks(floats_per_row):
            if buffer is None:
                buffer = np.empty((Xc.shape[0], self.q))
                buffer[:, -1] = 1.0
            Xa_c = buffer[: Xc.shape[0]]
            Xa_c[:, :-1] = Xc
            yield pos, Xa_c, Yc

    def pattern(self, V: np.ndarray, b: np.ndarray | None = None,
                margin: float = 0.0) -> tuple[np.ndarray, np.ndarray | None]:
        """``active = x.V^T + b > 0`` (n x k) and, with ``margin > 0``, the rows ``keep``
        whose every ``|x.v_i + b_i|`` exceeds ``margin`` (else ``None``), computed in chunks."""
        k = V.shape[0]
        active = np.empty((self.n, k), dtype=bool)
        keep = np.empty(self.n, dtype=bool) if margin > 0 else None
        for pos, Xc, _ in self.blocks(k + self.Xa.shape[1]):
            pre = Xc @ V.T
            if b is not None:
                pre += b
            np.greater(pre, 0, out=active[pos])
            if keep is not None:
                np.all(np.abs(pre) > margin, axis=1, out=keep[pos])
        return active, keep

    def sum_of_squares(self, predict=None) -> float:
        """``|Y - predict(X)|_F^2`` on the used rows (``|Y|_F^2`` without ``predict``), in chunks."""
        total = 0.0
        for _, Xc, Yc in self.blocks(self.Xa.shape[1] + 4 * self.Y.shape[1]):
            R = Yc if predict is None else Yc - predict(Xc)
            total += float(np.sum(R * R))
        return total

    def design(self) -> np.ndarray:
        """The full design matrix of the current pattern (for the fallback and for tests)."""
        E = self._E
        Xr = self.Xa[self._source(slice(None))]
        r, k = E.shape
        d, kq = Xr.shape[1], k * self.q
        F = np.empty((r, kq + int(self.intercept)))
        units = F[:, :kq].reshape(r, k, self.q)  # a view: (unit, column of x~) blocks
        np.multiply(E.astype(float)[:, :, None], Xr[:, None, :], out=units[:, :, :d])
        if self.bias_column:  # the implicit column of ones of x~ = (x, 1)
            units[:, :, d] = E
        if self.intercept:
            F[:, kq] = self._keep
        return F

    def _unit_blocks(self, theta):
        k = self._E.shape[1]
        return theta[: k * self.q].reshape(k, self.q, -1)  # (k, q, m)

    def _apply_block(self, Xc, E, keep, T, offset) -> np.ndarray:
        """``F theta`` on one chunk (rows ``x~``): ``T`` the unit blocks (k, q, m) of ``theta``."""
        r, q = Xc.shape
        k, _, m = T.shape
        H = (Xc @ T.transpose(1, 0, 2).reshape(q, k * m)).reshape(r, k, m)  # x~_s . theta_i
        out = np.einsum("nk,nkm->nm", E.astype(float), H)
        if offset is not None:
            out += keep[:, None] * offset
        return out

    def apply(self, theta: np.ndarray) -> np.ndarray:
        """``F theta`` without forming ``F`` (n x m; in chunks of rows)."""
        T = self._unit_blocks(theta)
        k, _, m = T.shape
        offset = theta[-1] if self.intercept else None
        out = np.empty((self.n, m))
        for pos, Xc, _ in self._augmented_blocks(2 * k * m + self.q):
            out[pos] = self._apply_block(Xc, self._E[pos], self._keep[pos], T, offset)
        return out

    def _transpose_of_residual(self, theta: np.ndarray) -> np.ndarray:
        """``F^T (w * Y - F theta)`` in chunks of rows, never forming ``F`` or the residual."""
        T = self._unit_blocks(theta)
        k, q, m = T.shape
        offset = theta[-1] if self.intercept else None
        acc = np.zeros((q, k * m))  # rows of x~, columns (unit, output)
        acc_offset = np.zeros(m)
        for pos, Xc, Yc in self._augmented_blocks(3 * k * m + self.q + m):
            E, keep = self._E[pos], self._keep[pos]
            R = Yc * keep[:, None] - self._apply_block(Xc, E, keep, T, offset)
            W = (E[:, :, None] * R[:, None, :]).reshape(R.shape[0], k * m)
            acc += Xc.T @ W
            if self.intercept:
                acc_offset += (keep[:, None] * R).sum(axis=0)
        blocks = acc.reshape(q, k, m).transpose(1, 0, 2).reshape(-1, m)  # (k q, m)
        if self.intercept:
            blocks = np.vstack([blocks, acc_offset[None, :]])
        return blocks

    def residual_sum_of_squares(self, theta: np.ndarray) -> float:
        """``|w * Y - F theta|_F^2`` for the current pattern, in chunks of rows."""
        T = self._unit_blocks(theta)
        k, _, m = T.shape
        offset = theta[-1] if self.intercept else None
        total = 0.0
        for pos, Xc, Yc in self._augmented_blocks(2 * k * m + self.q + m):
            E, keep = self._E[pos], self._keep[pos]
            R = Yc * keep[:, None] - self._apply_block(Xc, E, keep, T, offset)
            total += float(np.sum(R * R))
        return total

    def _source(self, pos):
        """Rows of ``Xa``, ``Y`` at the positions ``pos`` (a slice or an index array)."""
        return pos if self.rows is None else self.rows[pos]

    def _augmented_rows(self, pos):
        """``(x~, Y)`` of the rows ``pos``, gathered: ``x~ = (x, 1)`` with ``bias_column``."""
        Xr = self.Xa[self._source(pos)]
        if self.bias_column:
            Xr = np.hstack([Xr, np.ones((Xr.shape[0], 1))])
        return Xr, self.Y[self._source(pos)]

    def _add_block(self, G, i, j, block) -> None:
        """Add ``block`` to the block of units ``(i, j)`` of ``G`` and its transpose to ``(j, i)``."""
        q = self.q
        G[i * q : (i + 1) * q, j * q : (j + 1) * q] += block
        if j > i:
            G[j * q : (j + 1) * q, i * q : (i + 1) * q] += block.T

    def _add_rows(self, pos, E, keep, G, FtY) -> None:
        """Add ``F^T F`` and ``F^T Y`` of the rows ``pos`` (pattern ``E``, kept rows
        ``keep``) to ``G`` and ``FtY``, block by block.

        The block of units ``(i, j)`` of ``F^T F`` is ``sum x~ x~^T`` over the rows on
        which both units are active, so each block is a Gram of just those rows
        (gathered, then one symmetric product): with units active on about half of
        the rows this is about ``k^2 q^2 n / 8`` multiply-adds instead of the
        ``k^2 q^2 n / 2`` of ``F^T F`` with its zeros, and ``F`` is never formed.
        """
        Xr, Yr = self._augmented_rows(pos)
        k, q = E.shape[1], self.q
        for i in range(k):
            on = E[:, i]
            Xi, Ei = Xr[on], E[on]
            FtY[i * q : (i + 1) * q] += Xi.T @ Yr[on]
            for j in range(i, k):
                Xij = Xi if j == i else Xi[Ei[:, j]]
                self._add_block(G, i, j, Xij.T @ Xij)  # symmetric (one BLAS syrk)
            if self.intercept:  # the offset column is keep; E is already zero off keep
                column = Xi.sum(axis=0)
                G[k * q, i * q : (i + 1) * q] += column
                G[i * q : (i + 1) * q, k * q] += column
        if self.intercept:
            G[k * q, k * q] += float(np.count_nonzero(keep))
            FtY[k * q] += Yr[keep].sum(axis=0)

    def _change_rows(self, pos, old, new, keep_old, keep_new, G, FtY) -> None:
        """Replace in ``G`` and ``FtY`` the terms of the rows ``pos`` under the pattern
        ``old`` (kept rows ``keep_old``) by their terms under ``new`` (``keep_new``).

        A row adds ``x~ x~^T`` to the block of units ``(i, j)`` iff both are active
        on it, so its terms change only in the blocks of the units whose activity on
        it changed (after the first iterations, mostly one of the k): each such block
        gets the Gram of the rows entering it minus that of the rows leaving it, about
        ``k / 2`` blocks per flipped unit of a row instead of the ``k^2 / 4`` of
        removing and re-adding all of the row's blocks.
        """
        Xr, Yr = self._augmented_rows(pos)
        r, k = old.shape
        q, m = self.q, Yr.shape[1]
        delta = new.astype(float) - old  # -1, 0 or 1: unit i left or entered row s
        FtY[: k * q] += (Xr.T @ (delta[:, :, None] * Yr[:, None, :]).reshape(r, k * m)
                         ).reshape(q, k, m).transpose(1, 0, 2).reshape(k * q, m)
        flipped = delta != 0
        for i in range(k):
            for j in range(i, k):
                rows = np.flatnonzero(flipped[:, i] | flipped[:, j])
                if rows.size == 0:
                    continue
                change = ((new[rows, i] & new[rows, j]).astype(np.int8)
                          - (old[rows, i] & old[rows, j]))
                for sign, selected in ((1.0, rows[change > 0]), (-1.0, rows[change < 0])):
                    if selected.size:
                        Xs = Xr[selected]
                        self._add_block(G, i, j, sign * (Xs.T @ Xs))  # one BLAS syrk
        if self.intercept:  # the offset column is keep; E is zero off keep
            column = (Xr.T @ delta).T.reshape(-1)
            G[k * q, : k * q] += column
            G[: k * q, k * q] += column
            entered = keep_new.astype(float) - keep_old
            G[k * q, k * q] += float(entered.sum())
            FtY[k * q] += entered @ Yr

    def _row_steps(self, positions):
        """Chunks of ``positions`` (a count, or an index array) with about 4 MiB of
        gathered rows each."""
        step = max(64, 2 * self._CHUNK_FLOATS // self.q)
        if isinstance(positions, (int, np.integer)):
            for start in range(0, positions, step):
                yield slice(start, start + step)
        else:
            for start in range(0, positions.size, step):
                yield positions[start : start + step]

    def _update_normal_equations(self, E, keep) -> None:
        n = E.shape[0]
        changed = None
        if self._G is not None:
            changed = np.flatnonzero(np.any(E != self._E, axis=1) | (keep != self._keep))
        if changed is None or changed.size > n // 2:  # from scratch (in chunks) is cheaper
            p = E.shape[1] * self.q + int(self.intercept)
            G, FtY = np.zeros((p, p)), np.zeros((p, self.Y.shape[1]))
            for pos in self._row_steps(n):
                self._add_rows(pos, E[pos], keep[pos], G, FtY)
            self._G, self._FtY = G, FtY
        elif changed.size:  # only the changed rows' terms, only in the changed blocks
            for pos in self._row_steps(changed):
                self._change_rows(pos, self._E[pos], E[pos], self._keep[pos], keep[pos],
                                  self._G, self._FtY)
        self._E, self._keep = E, keep

    def _refined(self, inverse) -> np.ndarray | None:
        """Solve ``G theta = F^T Y`` with ``inverse`` and refine with the true residual.

        Returns ``None`` if the steps do not settle to rounding.
        """
        theta = inverse(self._FtY)
        previous = np.inf
        for _ in range(6):
            delta = inverse(self._transpose_of_residual(theta))
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
        if keep is None:  # every row kept: the pattern itself (not modified, so not copied)
            self._update_normal_equations(active, np.ones(active.shape[0], dtype=bool))
        else:
            self._update_normal_equations(active & keep[:, None], keep)
        keep = self._keep
        theta = None
        # Single precision first where the factorisation (p^3 / 3 flops) outweighs the two or
        # three extra refinement steps it may cost (each about 4 n p m flops): p^2 > 48 n m.
        p = self._G.shape[0]
        single = p * p > 48 * self.n * self.Y.shape[1]
        for dtype in (np.float32, np.float64) if single else (np.float64,):
            try:
                factor = linalg.cho_factor(self._G.astype(dtype), check_finite=False)
            except linalg.LinAlgError:
                continue
            theta = self._refined(
                lambda b: linalg.cho_solve(factor, b.astype(dtype), check_finite=False).astype(float))
            if theta is not None:
                break
        if theta is None:  # rank deficient: truncated eigendecomposition of G, then refinement
            w, Q = linalg.eigh(self._G, check_finite=False)
            Qr = Q[:, w > 1e-10 * max(w[-1], np.finfo(float).tiny)]  # drops directions with cond(F) > 1e5
            wr = w[w > 1e-10 * max(w[-1], np.finfo(float).tiny)]
            theta = self._refined(lambda b: Qr @ ((Qr.T @ b) / wr[:, None]))
        if theta is None:  # the last resort forms F (n x (k q)): rare, and not memory-bounded
            Yw = self.Y[self._source(slice(None))] * keep[:, None]
            theta = linalg.lstsq(self.design(), Yw, lapack_driver="gelsy", check_finite=False)[0]
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
        if self.bias_column:
            raise ValueError("fit_units: bias-free units only (bias_column=False)")
        intercept = self.intercept
        p = self.Xa.shape[1]
        k = W.shape[0]
        m = self.Y.shape[1]
        U = np.zeros((m, k))
        offset = np.zeros(m)
        previous = None
        rss = np.inf
        iterations = 0
        for _ in range(n_iter):
            iterations += 1
            W_old = W.copy()
            active, _ = self.pattern(W)
            theta = self.solve(active)
            rss = self.residual_sum_of_squares(theta)
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
