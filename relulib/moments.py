"""Empirical Hermite moments ``T_k = (1/n) sum_s y_s He_k(x_s)``.

ATV21, Section 5, estimates the Hermite coefficients ``f_k = E[f(x) He_k(x)]``
(Lemma 3.5) by these averages. Two kinds of estimator live here:

* :func:`empirical_hermite_tensor`, the full tensor, for small ``d``;
* :class:`HermiteMomentAccumulator` and :func:`moment_matrix`, the
  *contracted* estimators ``T_3[., ., g]`` and ``T_4[., ., g, h]`` that
  Jennrich's algorithm needs. They cost ``O(n d^2)`` time per contraction and
  ``O(d^2)`` memory, stream over chunks of samples, and never build a
  ``d^3``/``d^4`` array or an ``n x d^2`` array.

The contractions expand the multivariate Hermite tensors
(``s = g.x``, ``t = h.x``):

* ``He_2(x) = x x^T - I``
* ``He_3(x)[., ., g] = s x x^T - s I - g x^T - x g^T``
* ``He_4(x)[., ., g, h] = s t x x^T - s t I - t (g x^T + x g^T) - s (h x^T + x h^T)
  - (g.h) x x^T + (g.h) I + g h^T + h g^T``
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    as_degree, as_finite_array, as_positive_int, as_real_scalar, as_row_indices, as_samples,
    as_targets, check_finite_result, is_dask_array, )
from .tensors import check_full_tensor_size, hermite_tensor_entries

__all__ = [
    "HermiteMomentAccumulator",
    "ProjectedMomentAccumulator",
    "moment_matrix",
    "empirical_hermite_tensor",
    "relu_label_hermite_energy",
    "unit_tensor_mse",
    "unit_contraction_variance",
]

# Work arrays of a chunk hold about this many floats (1 MiB): small chunks keep the
# BLAS operands in cache (a chunked Gram pass is faster than one over all samples, and
# the validation and the products of a chunk read it from cache) and bound the memory
# a streamed pass adds.
_CHUNK_FLOATS = 2**17

#: Memory budget (bytes) of the work arrays of one chunk of the full-tensor
#: estimators (:func:`empirical_hermite_tensor`, :func:`relulib.hermite_coefficient_monte_carlo`):
#: the number of samples per chunk is reduced so that the per-sample arrays,
#: whose width is the number of distinct tensor entries, stay within it.
WORK_MEMORY_BUDGET = 256 * 2**20


def rows_within_budget(requested: int, floats_per_row: int) -> int:
    """Samples per chunk: ``requested``, reduced so ``rows * floats_per_row`` doubles fit the budget."""
    return max(1, min(requested, WORK_MEMORY_BUDGET // (8 * max(1, floats_per_row))))


def chunk_rows(floats_per_row: int) -> int:
    """Samples per chunk of a streamed moment pass: work arrays of about 1 MiB (at least 256 rows).

    The one chunk-size policy of the streamed estimators (:class:`HermiteMomentAccumulator`,
    :class:`ProjectedMomentAccumulator`, the moment stage of :func:`relulib.recover_with_bias`).
    """
    return max(256, _CHUNK_FLOATS // max(1, floats_per_row))


def row_blocks(n: int, step: int, rows: np.ndarray | None = None):
    """Chunks of at most ``step`` rows, in order: ``(pos, sel)`` for each.

    The one loop of the streamed passes over samples (the moment passes, the
    certificate, the pattern least squares). ``pos`` is a slice of the positions
    ``0 .. N-1`` of the rows used (``N = n``, or ``rows.size`` with ``rows``);
    ``sel`` selects those rows of the arrays: ``pos`` itself (``X[sel]`` a view)
    or, with ``rows`` (an index array), the piece ``rows[pos]`` (``X[sel]`` a
    copy of one chunk, never of all of ``X[rows]``). Not validated: for callers
    with validated ``rows``.

    Parameters
    ----------
    n : int
        Number of rows of the arrays (used when ``rows`` is None).
    step : int
        Rows per chunk, positive.
    rows : ndarray of int, optional
        The rows used, in this order.

    Returns
    -------
    generator of (slice, slice or ndarray)
        ``(pos, sel)`` per chunk.
    """
    count = n if rows is None else rows.size
    for start in range(0, count, step):
        pos = slice(start, start + step)
        yield pos, (pos if rows is None else rows[pos])


def _sample_matrix(X, d: int):
    """``(X, deferred)``: ``X`` as an (n, d) float array; ``deferred`` if its finiteness is left
    to :func:`_sample_blocks`.

    A float64 2-D array is only shape-checked here and checked for finiteness
    block by block, while each block is in cache for the products that follow
    (one pass over ``X`` less than validating it whole); anything else is
    converted and validated at once.
    """
    if isinstance(X, np.ndarray) and X.dtype == np.float64 and X.ndim == 2 and X.shape[0] > 0:
        as_samples(X[:1], "X", d=d)  # the shape checks (and the first row)
        return X, True
    return as_samples(X, "X", d=d), False


def _sample_blocks(X: np.ndarray, d: int, step: int, deferred: bool):
    """``(start, block)`` for the row blocks of ``X``; a non-finite block raises the
    message of :func:`as_samples` for the whole ``X`` (callers restore their sums)."""
    for start in range(0, X.shape[0], step):
        block = X[start : start + step]
        if deferred and not np.isfinite(block).all():
            as_samples(X, "X", d=d)  # raises, counting every bad entry
        yield start, block


def _as_vector_batch(v, name: str, d: int) -> np.ndarray:
    v = as_finite_array(v, name, ndim=(1, 2))
    if v.shape[-1] != d:
        raise ValueError(f"{name}: expected vectors of length d={d}, got shape {v.shape}")
    return v.reshape(-1, d)


def _thin_product(A: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``A @ V`` for a thin ``V`` (a few columns): one matrix-vector product per column,
    which OpenBLAS runs markedly faster than a matrix product with 2-4 columns."""
    if V.shape[1] > 4:
        return A @ V
    out = np.empty((A.shape[0], V.shape[1]), order="F")  # contiguous columns
    for j in range(V.shape[1]):
        np.matmul(A, V[:, j], out=out[:, j])
    return out


def _same_vectors(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.shape == b.shape
                                          and bool(np.array_equal(a, b)))


class HermiteMomentAccumulator:
    """Streaming sums for the Hermite moments of orders 0 to 4, contracted to matrices.

    Feed chunks of samples with :meth:`update`; read the estimates with
    :meth:`T0` ... :meth:`T4`. Memory is ``O(m (p + q) d^2)`` whatever the
    number of samples. Accumulators of the same configuration that saw
    different samples add up with :meth:`merge` (a mergeable reduction: the
    chunks may be processed anywhere, in any order).

    Cost. Every chunk costs one weighted Gram product ``X^T (W x X)`` with
    ``m (1 + p + q)`` weight columns (``m (p + q)`` without ``order2``), i.e.
    about ``m (1 + p + q)`` Gram passes ``X^T (y X)``: the ``T_3`` contraction
    needs no ``T_2`` Gram matrix (its identity terms use ``T_0`` and ``T_1``), and
    the ``-(g.h) x x^T`` term of ``T_4[., ., g, h]`` is folded into its weight
    ``y (s t - g.h)``. Everything else is ``O(n d)``: one matrix-vector product
    per contraction vector (``s = X g``, ``t = X h``), the weights, and the
    sums ``X^T y`` (and, without ``order2``, ``X^T (y s)``, ``X^T (y t)``). The
    weighted copies of a chunk are written into one buffer reused from chunk to
    chunk.

    Parameters
    ----------
    d : int
        Input dimension.
    g3 : array_like of shape (p, d) or (d,), optional
        Vectors ``g`` for the contractions ``T_3[., ., g]``.
    g4, h4 : array_like of shape (q, d) or (d,), optional
        Pairs ``(g, h)`` for the contractions ``T_4[., ., g, h]``; ``h4``
        defaults to ``g4``.
    order2 : bool, default True
        Accumulate the Gram matrices of ``T_2`` (one per output); ``False``
        saves one Gram pass per output when only contractions are wanted
        (:meth:`T2` then raises ``ValueError``).

    Raises
    ------
    TypeError
        ``d`` not an integer or ``order2`` not a bool.
    ValueError
        ``d`` below 1, ``h4`` without ``g4``, contraction vectors not finite of
        length ``d``, or ``h4`` of a shape other than that of ``g4``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> acc = HermiteMomentAccumulator(3, g3=[1.0, 0.0, 0.0])
    >>> for _ in range(3):
    ...     X = rng.standard_normal((1000, 3))
    ...     _ = acc.update(X, X[:, 0] ** 3)
    >>> acc.n, acc.T3().shape
    (3000, (1, 1, 3, 3))
    """

    def __init__(
        self, d: int, *, g3: ArrayLike | None = None, g4: ArrayLike | None = None,
        h4: ArrayLike | None = None, order2: bool = True,
    ) -> None:
        self.d = as_positive_int(d, "d")
        self.g3 = None if g3 is None else _as_vector_batch(g3, "g3", self.d)
        if g4 is None and h4 is not None:
            raise ValueError("h4: given without g4; pass g4 (and optionally h4)")
        self.g4 = None if g4 is None else _as_vector_batch(g4, "g4", self.d)
        self.h4 = self.g4 if h4 is None else _as_vector_batch(h4, "h4", self.d)
        if self.g4 is not None and self.h4.shape != self.g4.shape:
            raise ValueError(f"h4: expected the shape of g4 {self.g4.shape}, got {self.h4.shape}")
        # the contraction vectors as the columns of one matrix [g3 | g4 | h4], (d, p + 2q)
        parts = [v for v in (self.g3, self.g4, self.h4 if self.g4 is not None else None) if v is not None]
        self._vecs = np.ascontiguousarray(np.vstack(parts).T) if parts else None
        self._gh = None if self.g4 is None else np.einsum("qi,qi->q", self.g4, self.h4)
        if not isinstance(order2, (bool, np.bool_)):
            raise TypeError(f"order2: expected True or False, got {type(order2).__name__}")
        self.order2 = bool(order2)
        # False (set by moment_matrix's T_4 path, before any update): the sums X^T y,
        # which only T1 and T3 read, are skipped; the sums X^T (y s), X^T (y t) of the
        # T_4 pairs then carry the deferred finiteness check.
        self._sums_yx = True
        self.n = 0
        self.m = None

    def __repr__(self) -> str:
        p = 0 if self.g3 is None else self.g3.shape[0]
        q = 0 if self.g4 is None else self.g4.shape[0]
        return f"HermiteMomentAccumulator(d={self.d}, n={self.n}, order3_contractions={p}, order4_contractions={q})"

    _SUMS = ("_S0", "_S1", "_A", "_B", "_C")

    def _widths(self):
        p = 0 if self.g3 is None else self.g3.shape[0]
        q = 0 if self.g4 is None else self.g4.shape[0]
        return int(self.order2), p, q

    def _allocate(self, m: int) -> None:
        d = self.d
        w2, p, q = self._widths()
        self.m = m
        self._S0 = np.zeros(m)
        self._S1 = np.zeros((m, d))
        # Gram sums, one block of columns per output: [T_2 (if order2) | T_3 (p) | T_4 (q)]
        self._A = np.zeros((m, w2 + p + q, d, d))
        self._B = np.zeros((m, p + q))  # the weights' sums (identity terms)
        self._C = np.zeros((m, 2 * q, d))  # sum y s x and sum y t x of each T_4 pair (if not order2)

    def chunk_size(self) -> int:
        """Samples per block inside :meth:`update`: work arrays of about 1 MiB (``chunk_rows``).

        Returns
        -------
        int
            The block size.
        """
        w2, p, q = self._widths()
        return chunk_rows((self.m or 1) * max(1, w2 + p + q) * self.d)

    def update(
        self, X: ArrayLike, Y: ArrayLike, *, rows: ArrayLike | None = None,
    ) -> "HermiteMomentAccumulator":
        """Add the samples ``X`` (n, d) with labels ``Y`` (n,) or (n, m).

        Parameters
        ----------
        X : array_like of shape (n, d)
            Samples, one per row.
        Y : array_like of shape (n,) or (n, m)
            Their labels.
        rows : array_like of int, optional
            Add only the samples ``X[rows]``, ``Y[rows]`` (e.g. a training
            part), fancy-indexed a chunk at a time: no copy of ``X[rows]`` is
            made, and the sums are those of ``update(X[rows], Y[rows])``, bit
            for bit (the same chunks in the same order). In-memory arrays only.

        Returns
        -------
        HermiteMomentAccumulator
            ``self``, so that updates can be chained.

        Raises
        ------
        ValueError
            On bad shapes, non-finite values (the accumulator is then left as
            it was), a number of outputs other than that of earlier updates,
            ``rows`` not indices in ``[0, n)``, or ``rows`` with Dask arrays.
        """
        if is_dask_array(X) or is_dask_array(Y):
            if rows is not None:
                raise ValueError("rows: expected None with Dask arrays (select the rows "
                                 "with X[rows] first), got an index array")
            # Dask arrays chunked over rows: reduced block by block on the active
            # scheduler (relulib.reduce_moments) and the result merged in.
            from .scaleout import reduce_moments  # scaleout imports this module

            empty = HermiteMomentAccumulator(self.d, g3=self.g3, g4=self.g4, h4=self.h4,
                                             order2=self.order2)
            return self.merge(reduce_moments(X, Y, empty))
        X, deferred = _sample_matrix(X, self.d)
        Y = as_targets(Y, X.shape[0], "Y")
        if rows is not None:
            rows = as_row_indices(rows, X.shape[0])
        n = X.shape[0] if rows is None else rows.size
        fresh = self.m is None
        if fresh:
            self._allocate(Y.shape[1])
        elif Y.shape[1] != self.m:
            raise ValueError(f"Y: expected {self.m} outputs as in earlier chunks, got shape {Y.shape}")
        # A deferred finiteness check is made on the block's sums y^T x (a NaN or
        # infinity in x makes them non-finite, whatever y), before anything is added;
        # only then (or on overflow) is the block itself inspected.
        step = self.chunk_size()
        saved = None if fresh else [getattr(self, a).copy() for a in self._SUMS]
        work = np.empty((min(n, step), self._work_width()))
        try:
            for _, sel in row_blocks(X.shape[0], step, rows):
                block, Yb = X[sel], Y[sel]
                if not self._update_block(block, Yb, checked=not deferred, work=work):
                    if not np.isfinite(block).all():
                        as_samples(X, "X", d=self.d)  # raises, counting every bad entry
                    self._update_block(block, Yb, checked=True, work=work)  # finite: the sums overflowed
        except ValueError:  # a non-finite block: leave the accumulator as it was
            if fresh:
                self.m = None
            else:
                for a, v in zip(self._SUMS, saved):
                    setattr(self, a, v)
            raise
        self.n += n
        return self

    def _update_block(self, X: np.ndarray, Y: np.ndarray, checked: bool, work=None) -> bool:
        """Add one block; unless ``checked``, return False (adding nothing) if ``Y^T X`` is not finite.

        One weighted Gram product ``Z^T X``, ``Z`` the ``m (w2 + p + q)`` weighted
        copies of ``X`` side by side (written into ``work``, a reused C-contiguous
        buffer of at least ``n`` rows and :meth:`_work_width` columns, when given),
        plus ``O(n d)`` work: the products ``X [g3 | g4 | h4]``, the weights and
        the sums ``X^T y`` (and ``X^T (y s)``, ``X^T (y t)`` of each ``T_4`` pair
        without ``order2``), one matrix-vector product each (a matrix product
        beyond four).
        """
        n, d = X.shape
        m = self.m
        w2, p, q = self._widths()
        K = w2 + p + q
        extra = 2 * q if q and not w2 else 0  # with the T_2 Gram S, sum y s x = S g (in T4)
        V = _thin_product(X, self._vecs) if p + q else None  # (n, p + 2q): X g3 | X g4 | X h4
        # the sums of x against the labels (and label products), checked before any Gram work:
        # a NaN or infinity in x makes them non-finite, whatever y (0 * inf is NaN)
        first = m if self._sums_yx or not extra else 0  # rows of X^T y
        lin = np.empty((first + m * extra, n))
        if first:
            lin[:first] = Y.T
        if extra:
            np.multiply(Y.T[:, None, :], V.T[None, p:, :], out=lin[first:].reshape(m, extra, n))
        L = _thin_product(X.T, lin.T).T
        if not checked and not np.isfinite(L[: first or None]).all():
            return False
        Z = np.empty((n, m * K * d)) if work is None else work[:n]
        if m * K == 1:  # one weight column: a plain 2-D product (as in a Gram pass X^T (y X))
            if w2:
                w = Y[:, 0]
            elif p:
                w = Y[:, 0] * V[:, 0]
            else:
                w = V[:, 0] * V[:, 1]  # s t
                w -= self._gh[0]  # the -(g.h) x x^T term of T_4 folded into its weight
                w *= Y[:, 0]
            np.multiply(X, w[:, None], out=Z)
            B = w.sum()
        else:
            W = np.empty((n, m, K))  # weights [y | y s (p) | y (s t - g.h) (q)]
            if w2:
                W[:, :, 0] = Y
            if p:
                np.multiply(Y[:, :, None], V[:, None, :p], out=W[:, :, w2 : w2 + p])
            if q:
                u = V[:, p : p + q] * V[:, p + q :]
                u -= self._gh
                np.multiply(Y[:, :, None], u[:, None, :], out=W[:, :, w2 + p :])
            # Z is C-contiguous: the reshape is a view
            np.multiply(W.reshape(n, m * K)[:, :, None], X[:, None, :], out=Z.reshape(n, m * K, d))
            B = W[:, :, w2:].sum(axis=0)
        self._S0 += Y.sum(axis=0)
        if first:
            self._S1 += L[:m]
        if extra:
            self._C += L[first:].reshape(m, extra, d)
        self._A += (Z.T @ X).reshape(self._A.shape)
        if p + q:
            self._B += B
        return True

    def _work_width(self) -> int:
        """Columns of the weighted copies ``Z`` of one block in :meth:`_update_block`."""
        w2, p, q = self._widths()
        return self.m * (w2 + p + q) * self.d

    def merge(self, other: "HermiteMomentAccumulator") -> "HermiteMomentAccumulator":
        """Add the sums of ``other``, an accumulator of the same configuration; returns ``self``.

        Merging the accumulators of a partition of the samples gives, to
        rounding, the accumulator of all of them.

        Parameters
        ----------
        other : HermiteMomentAccumulator
            With the same ``d``, contraction vectors, ``order2`` and number of
            outputs ``m`` (an accumulator without samples merges with any ``m``).

        Returns
        -------
        HermiteMomentAccumulator
            ``self``, holding the sums of both.

        Raises
        ------
        TypeError
            ``other`` not a :class:`HermiteMomentAccumulator`.
        ValueError
            ``other`` of another ``d``, other contraction vectors, another
            ``order2`` or another number of outputs.
        """
        if not isinstance(other, HermiteMomentAccumulator):
            raise TypeError(f"other: expected a HermiteMomentAccumulator, got {type(other).__name__}")
        if other.d != self.d:
            raise ValueError(f"other: expected an accumulator with d={self.d}, got d={other.d}")
        for name in ("g3", "g4", "h4"):
            if not _same_vectors(getattr(self, name), getattr(other, name)):
                raise ValueError(f"other: expected the same contraction vectors {name} as this accumulator")
        if other.order2 != self.order2:
            raise ValueError(f"other: expected order2={self.order2}, got order2={other.order2}")
        if other.m is None:
            return self
        if self.m is None:
            self._allocate(other.m)
        elif other.m != self.m:
            raise ValueError(f"other: expected m={self.m} outputs, got m={other.m}")
        for name in self._SUMS:
            getattr(self, name).__iadd__(getattr(other, name))
        self.n += other.n
        return self

    def _check(self, what: str, needed) -> None:
        if self.n == 0:
            raise ValueError("update: no samples have been added yet")
        if needed is None:
            raise ValueError(f"{what}: this accumulator was built without the vectors it needs")

    def T0(self) -> np.ndarray:
        """``E[y]``, shape (m,).

        Returns
        -------
        numpy.ndarray of shape (m,)
            The moment estimate from the samples added so far.

        Raises
        ------
        ValueError
            No samples added yet, or an estimate that overflows.
        """
        self._check("T0", True)
        return check_finite_result(self._S0 / self.n, "the moment E[y]")

    def T1(self) -> np.ndarray:
        """``E[y x]``, shape (m, d).

        Returns
        -------
        numpy.ndarray of shape (m, d)
            The moment estimate from the samples added so far.

        Raises
        ------
        ValueError
            No samples added yet, or an estimate that overflows.
        """
        self._check("T1", True if self._sums_yx else None)
        return check_finite_result(self._S1 / self.n, "the moment E[y x]")

    def T2(self) -> np.ndarray:
        """``E[y (x x^T - I)]``, shape (m, d, d).

        Returns
        -------
        numpy.ndarray of shape (m, d, d)
            The moment estimate from the samples added so far.

        Raises
        ------
        ValueError
            No samples added yet, built with ``order2=False``, or an estimate
            that overflows.
        """
        self._check("T2", True if self.order2 else None)
        eye = np.eye(self.d)
        out = self._A[:, 0] / self.n - self.T0()[:, None, None] * eye
        return check_finite_result(out, "the moment E[y (x x^T - I)]")

    def T3(self) -> np.ndarray:
        """``T_3[., ., g]`` for every ``g`` in ``g3``: shape (m, p, d, d).

        Returns
        -------
        numpy.ndarray of shape (m, p, d, d)
            The moment estimate from the samples added so far.

        Raises
        ------
        ValueError
            No samples added yet, built without ``g3``, or an estimate that
            overflows.
        """
        self._check("g3", self.g3)
        w2, p, _ = self._widths()
        n, eye, g = self.n, np.eye(self.d), self.g3
        S1 = self.T1()  # (m, d)
        out = self._A[:, w2 : w2 + p] / n - (self._B[:, :p] / n)[:, :, None, None] * eye
        cross = g[None, :, :, None] * S1[:, None, None, :]  # g_i E[y x_j]
        return check_finite_result(out - cross - np.swapaxes(cross, -1, -2), "the third moment")

    def T4(self) -> np.ndarray:
        """``T_4[., ., g, h]`` for every pair in ``(g4, h4)``: shape (m, q, d, d).

        Returns
        -------
        numpy.ndarray of shape (m, q, d, d)
            The moment estimate from the samples added so far.

        Raises
        ------
        ValueError
            No samples added yet, built without ``g4``, or an estimate that
            overflows.
        """
        self._check("g4", self.g4)
        w2, p, q = self._widths()
        n, eye, g, h = self.n, np.eye(self.d), self.g4, self.h4
        T0 = self.T0()[:, None, None, None]
        if self.order2:  # sum y s x = (sum y x x^T) g, from the T_2 Gram
            S = self._A[:, 0] / n
            Cs, Ct = np.einsum("rij,qj->rqi", S, g), np.einsum("rij,qj->rqi", S, h)
        else:
            Cs, Ct = self._C[:, :q] / n, self._C[:, q:] / n
        # sums of y (s t - g.h) x x^T and of y (s t - g.h): the (g.h) terms are folded in
        out = self._A[:, w2 + p :] / n - (self._B[:, p:] / n)[:, :, None, None] * eye
        cross = g[None, :, :, None] * Ct[:, :, None, :] + h[None, :, :, None] * Cs[:, :, None, :]
        out = out - cross - np.swapaxes(cross, -1, -2)
        ghT = g[:, :, None] * h[:, None, :]
        out = out + T0 * (ghT[None] + np.swapaxes(ghT, -1, -2)[None])
        return check_finite_result(out, "the fourth moment")


class ProjectedMomentAccumulator:
    """Streaming projected Hermite moments of orders 0 to 4, from one weighted Gram.

    The moments are ``T_j(P, ..., P)``, ``j = 0 ... 4``.

    For ``P`` (d x k) with orthonormal columns, ``He_j(x)[P u, ..., P u] = He_j(z)[u, ..., u]``
    with ``z = P^T x`` (the identity terms of ``He_j`` become ``P^T P = I``), so the
    projected tensors are the small full Hermite tensors of ``z``. Their
    ingredients are the weighted power sums ``sum_s r_s z_s^{(x) j}``, ``j <= 4``,
    which are all entries of ONE weighted Gram matrix ``F^T (r F)`` of the
    monomials of ``z`` up to degree 2, ``F = [1, z, z_a z_b (a <= b)]``
    (``1 + k + k (k + 1) / 2`` columns): a degree-3 sum is a product of a
    linear and a quadratic feature, a degree-4 sum a product of two
    quadratic features. Cost per sample: ``z`` (``2 d k`` flops) plus the Gram
    (about ``k^4 / 4`` flops: only its symmetric half is computed); no ``d^3``,
    ``d^4`` or ``n x d^2`` array.

    Feed chunks with :meth:`update`; read :meth:`moments`. Accumulators of
    the same ``P`` that saw different samples add up with :meth:`merge`.

    Parameters
    ----------
    P : array_like of shape (d, k)
        Orthonormal columns (``P^T P = I`` to ``1e-8``).

    Notes
    -----
    This is the one-Gram estimator of the projected moments of the labels it
    is given: ``T_2, T_3, T_4`` all from the same weights, in one pass of
    ``O(n (d k + k^4 / 4))`` (the Gram as two symmetric products, one for the
    samples of positive and one for those of negative weight).
    ATV21's moment stage (:func:`relulib.projected_moments`) makes three
    streamed passes: ``T_0, T_1``; ``T_2`` of the residualised labels
    ``r = y - T_0 - x.T_1`` (whose top-``k`` eigenvectors give ``P``, and whose
    projection is the projected ``T_2``); and this accumulator, fed
    ``z = P^T x`` with the identity as its ``P`` and the labels
    ``r - <T_2, He_2(z)> / 2``, for the projected ``T_3`` and ``T_4``.
    Removing the lower-degree Hermite parts leaves each moment unchanged in
    expectation and lowers its variance, at the cost of passes that depend on
    each other instead of one.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> P = np.linalg.qr(rng.standard_normal((5, 2)))[0]
    >>> acc = ProjectedMomentAccumulator(P)
    >>> X = rng.standard_normal((4000, 5))
    >>> _ = acc.update(X[:2000], X[:2000, 0]).update(X[2000:], X[2000:, 0])
    >>> T2, T3, T4 = acc.moments()
    >>> acc.n, T2.shape, T3.shape, T4.shape
    (4000, (2, 2), (2, 2, 2), (2, 2, 2, 2))
    """

    def __init__(self, P: ArrayLike) -> None:
        P = as_finite_array(P, "P", ndim=2)
        d, k = P.shape
        if k < 1 or k > d:
            raise ValueError(f"P: expected shape (d, k) with 1 <= k <= d, got shape {P.shape}")
        err = float(np.max(np.abs(P.T @ P - np.eye(k))))
        if err > 1e-8:
            raise ValueError(f"P: expected orthonormal columns (|P^T P - I| <= 1e-8), got {err:.1e}")
        self.P, self.d, self.k = P, d, k
        # P = I (the moment stage feeds z = P^T x itself): z is the block, no product
        self._identity = d == k and bool(np.array_equal(P, np.eye(k)))
        self._pairs = np.triu_indices(k)
        self.width = 1 + k + self._pairs[0].size
        self.n = 0
        self._G = np.zeros((self.width, self.width))

    _work = None  # the work arrays of update (never copied or pickled)

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_work", None)
        return state

    def __repr__(self) -> str:
        return f"ProjectedMomentAccumulator(d={self.d}, k={self.k}, n={self.n})"

    def chunk_size(self) -> int:
        """Samples per block inside :meth:`update`: work arrays of about 8 MiB (``chunk_rows``).

        Returns
        -------
        int
            The block size.
        """
        return chunk_rows((2 * self.width + self.k) // 8)  # about 8 MiB: BLAS-sized products

    def update(self, X: ArrayLike, r: ArrayLike) -> "ProjectedMomentAccumulator":
        """Add the samples ``X`` (n, d) with weights (labels) ``r`` (n,).

        Parameters
        ----------
        X : array_like of shape (n, d)
            Samples, one per row.
        r : array_like of shape (n,) or (n, 1)
            Their weights (ATV21's residualised labels).

        Returns
        -------
        ProjectedMomentAccumulator
            ``self``, so that updates can be chained.
        """
        if is_dask_array(X) or is_dask_array(r):
            # Dask arrays chunked over rows: reduced block by block on the active
            # scheduler (relulib.reduce_moments) and the result merged in.
            from .scaleout import reduce_moments  # scaleout imports this module

            return self.merge(reduce_moments(X, r, ProjectedMomentAccumulator(self.P)))
        X, deferred = _sample_matrix(X, self.d)
        blocks = _sample_blocks(X, self.d, self.chunk_size(), deferred)
        r = as_targets(r, X.shape[0], "r")
        if r.shape[1] != 1:
            raise ValueError(f"r: expected one weight per sample, shape (n,) or (n, 1), got shape {r.shape}")
        r = r[:, 0]
        k = self.k
        G = np.zeros_like(self._G)
        rows = min(X.shape[0], self.chunk_size())
        if self._work is None or self._work.shape[1] < self.width * rows:
            # the features and their columns of one sign, kept between calls: a fresh
            # array of a few MiB per block costs more in page faults than its products
            self._work = np.empty((2, self.width * rows))
        for start, block in blocks:
            m = block.shape[0]
            zt = np.ascontiguousarray((block if self._identity else block @ self.P).T)
            w = r[start : start + m]
            # F^T diag(r) F = A+ A+^T - A- A-^T, A = (sqrt|r| F)^T (features x samples:
            # each feature a contiguous row) split by the sign of r: two symmetric
            # products (BLAS syrk), half the flops of F^T (r F)
            A = self._work[0, : self.width * m].reshape(self.width, m)
            np.sqrt(np.abs(w), out=A[0])
            zs = np.multiply(zt, A[0], out=A[1 : 1 + k])  # sqrt|r| z
            row = 1 + k
            for i in range(k):  # sqrt|r| z_i z_j, j >= i (the order of self._pairs)
                np.multiply(zs[i], zt[i:], out=A[row : row + k - i])
                row += k - i
            positive = w > 0
            count = int(np.count_nonzero(positive))
            for sign, keep, size in ((1.0, positive, count), (-1.0, ~positive, m - count)):
                As = np.compress(keep, A, axis=1,
                                 out=self._work[1, : self.width * size].reshape(self.width, size))
                G += sign * (As @ As.T)
        self._G += G  # only once every block passed its check
        self.n += X.shape[0]
        return self

    def merge(self, other: "ProjectedMomentAccumulator") -> "ProjectedMomentAccumulator":
        """Add the sums of ``other``, an accumulator with the same ``P``; returns ``self``.

        Parameters
        ----------
        other : ProjectedMomentAccumulator
            An accumulator with the same projection ``P``.

        Returns
        -------
        ProjectedMomentAccumulator
            ``self``, holding the sums of both.
        """
        if not isinstance(other, ProjectedMomentAccumulator):
            raise TypeError(f"other: expected a ProjectedMomentAccumulator, got {type(other).__name__}")
        if other.P.shape != self.P.shape or not np.array_equal(other.P, self.P):
            raise ValueError(
                f"other: expected an accumulator with the same projection P (shape {self.P.shape}), "
                f"got a different P (shape {other.P.shape})"
            )
        self._G += other._G
        self.n += other.n
        return self

    def power_sums(self) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The weighted power sums ``Mj = (1/n) sum_s r_s z_s^{(x) j}``, ``j = 0 ... 4``.

        Returns
        -------
        tuple
            ``(M0, M1, M2, M3, M4)`` of shapes ``()``, ``(k,)``, ``(k, k)``,
            ``(k, k, k)``, ``(k, k, k, k)``.
        """
        if self.n == 0:
            raise ValueError("update: no samples have been added yet")
        k = self.k
        G = self._G / self.n
        quad = np.empty((k, k), dtype=int)  # column of the feature z_a z_b
        quad[self._pairs] = 1 + k + np.arange(self._pairs[0].size)
        quad.T[self._pairs] = quad[self._pairs]
        lin = 1 + np.arange(k)
        M3 = G[lin[:, None, None], quad[None, :, :]]
        M4 = G[quad[:, :, None, None], quad[None, None, :, :]]
        return G[0, 0], G[0, lin], G[np.ix_(lin, lin)], M3, M4

    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The projected Hermite moments ``T_2``, ``T_3``, ``T_4``.

        ``He_2 = z z^T - I``; ``He_3 = z^{(x)3} - sym(I (x) z)`` (3 terms);
        ``He_4 = z^{(x)4} - sym(I (x) z z^T)`` (6 terms) ``+ sym(I (x) I)`` (3 terms).

        Returns
        -------
        tuple of numpy.ndarray
            ``(T_2, T_3, T_4)`` of shapes ``(k, k)``, ``(k, k, k)``, ``(k, k, k, k)``.
        """
        M0, M1, M2, M3, M4 = self.power_sums()
        eye = np.eye(self.k)
        T2 = M2 - M0 * eye
        IM1 = np.einsum("ij,l->ijl", eye, M1)
        T3 = M3 - IM1 - IM1.transpose(0, 2, 1) - IM1.transpose(2, 0, 1)
        IM2 = np.einsum("ij,lm->ijlm", eye, M2)
        II = np.einsum("ij,lm->ijlm", eye, eye)
        T4 = (M4 - IM2 - IM2.transpose(0, 2, 1, 3) - IM2.transpose(0, 2, 3, 1)
              - IM2.transpose(2, 0, 1, 3) - IM2.transpose(2, 0, 3, 1) - IM2.transpose(2, 3, 0, 1)
              + M0 * (II + II.transpose(0, 2, 1, 3) + II.transpose(0, 2, 3, 1)))
        return (check_finite_result(T2, "the projected second moment"),
                check_finite_result(T3, "the projected third moment"),
                check_finite_result(T4, "the projected fourth moment"))


def moment_matrix(X: ArrayLike, Y: ArrayLike, order: int, *vectors: ArrayLike) -> np.ndarray:
    """Contracted empirical Hermite moment, a ``d x d`` matrix per contraction.

    * ``order=2``: ``T_2 = (1/n) sum y (x x^T - I)``, no vectors;
    * ``order=3``: ``T_3[., ., g]``, one vector (or batch of vectors) ``g``;
    * ``order=4``: ``T_4[., ., g, h]``, two vectors (or batches) ``g, h``.

    Time ``O(n d^2)`` per contraction, memory ``O(d^2)`` beyond a fixed-size
    chunk of samples (see :class:`HermiteMomentAccumulator` for streaming).
    ``X`` and ``Y`` may be Dask arrays chunked over rows: the moment is then a
    reduction over the row blocks on the active scheduler
    (:func:`relulib.reduce_moments`).

    Parameters
    ----------
    X : ndarray or dask.array.Array of shape (n, d)
    Y : ndarray or dask.array.Array of shape (n,), (n, 1) or (n, m)
    order : {2, 3, 4}
    *vectors : array_like of shape (d,) or (p, d)

    Returns
    -------
    ndarray of shape ``[(m,)] + [(p,)] + (d, d)``
        The leading ``m`` axis only for ``m > 1`` outputs; the ``p`` axis only
        when the vectors were given as a batch.

    Raises
    ------
    TypeError
        ``order`` not an integer.
    ValueError
        Bad shapes or non-finite values (of ``X`` and ``Y``, or of the
        contraction vectors), ``order`` other than 2, 3 or 4, a number of
        contraction vectors other than ``order - 2``, ``g`` and ``h`` of
        different shapes, or sums that overflow.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200_000, 2))
    >>> np.round(moment_matrix(X, X[:, 0] * X[:, 1], 2), 1) + 0.0
    array([[0., 1.],
           [1., 0.]])
    """
    if is_dask_array(X) or is_dask_array(Y):  # a reduction over the row blocks
        from .scaleout import as_dask_samples  # scaleout imports this module

        X, Y = as_dask_samples(X, Y)
    else:
        X, _ = _sample_matrix(X, None)  # finiteness: block by block in the accumulator
        Y = as_targets(Y, X.shape[0], "Y")
    d = X.shape[1]
    order = as_degree(order, "order")
    expected = {2: 0, 3: 1, 4: 2}
    if order not in expected:
        raise ValueError(f"order: expected 2, 3 or 4, got {order}")
    if len(vectors) != expected[order]:
        raise ValueError(
            f"vectors: expected {expected[order]} contraction vector(s) for order {order}, "
            f"got {len(vectors)}"
        )
    batched = any(np.ndim(v) == 2 for v in vectors)
    if order == 2:
        acc = HermiteMomentAccumulator(d).update(X, Y)
        out = acc.T2()
    elif order == 3:
        out = HermiteMomentAccumulator(d, g3=vectors[0], order2=False).update(X, Y).T3()
    else:
        g = _as_vector_batch(vectors[0], "vectors", d)
        h = _as_vector_batch(vectors[1], "vectors", d)
        if g.shape != h.shape:
            raise ValueError(f"vectors: expected g and h of the same shape, got {g.shape} and {h.shape}")
        acc = HermiteMomentAccumulator(d, g4=g, h4=h, order2=False)
        acc._sums_yx = False  # T_4 alone does not read X^T y: one matrix-vector product less per chunk
        out = acc.update(X, Y).T4()
    if order > 2 and not batched:
        out = out[:, 0]
    return out[0] if Y.shape[1] == 1 else out


def empirical_hermite_tensor(
    X: ArrayLike, Y: ArrayLike, order: int, *, chunk_size: int = 20_000,
) -> np.ndarray:
    """Full empirical Hermite tensor ``T_k = (1/n) sum_s y_s He_k(x_s)`` (small ``d`` only).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,), (n, 1) or (n, m)
    order : int
    chunk_size : int, default 20000
        Samples processed at a time, reduced if needed so that the work arrays
        of a chunk stay within ``WORK_MEMORY_BUDGET`` (256 MiB): with ``M``
        distinct entries, about ``3 M + d (order + 1)`` doubles per sample.

    Returns
    -------
    ndarray of shape ``(d,) * order`` (or ``(m,) + (d,) * order`` for ``m > 1`` outputs)

    Raises
    ------
    ValueError
        On bad shapes or non-finite values, or if ``d**order`` exceeds
        :data:`~relulib.MAX_FULL_TENSOR_ENTRIES` (use
        :func:`moment_matrix` then).
        ``order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Notes
    -----
    Only the ``C(d+k-1, k)`` distinct entries of the symmetric tensor are
    computed, as products of univariate ``He_{n_c}(x_c)`` from
    ``numpy.polynomial.hermite_e.hermevander``.
    """
    X = as_samples(X, "X")
    Y = as_targets(Y, X.shape[0], "Y")
    order = as_degree(order, "order")
    chunk_size = as_positive_int(chunk_size, "chunk_size")
    n, d = X.shape
    check_full_tensor_size(d, order)
    # Per sample: the He values (d (order + 1)), the distinct entries and two temporaries.
    chunk_size = rows_within_budget(chunk_size, 3 * math.comb(d + order - 1, order) + d * (order + 1))
    total = None
    scatter = None
    for start in range(0, n, chunk_size):
        entries, scatter = hermite_tensor_entries(X[start : start + chunk_size], order)
        part = Y[start : start + chunk_size].T @ entries  # (m, M)
        total = part if total is None else total + part
    check_finite_result(total, f"the order-{order} Hermite moment")
    T = (total / n)[:, scatter].reshape((Y.shape[1],) + (d,) * order)
    return T[0] if Y.shape[1] == 1 else T


@functools.lru_cache(maxsize=4)
def _legendre_rule(n_nodes: int):
    """Gauss-Legendre nodes and weights on [-1, 1] (computed once: an eigenproblem of size n)."""
    return np.polynomial.legendre.leggauss(n_nodes)


def _relu_label_hermite_energy(p: int, b: float, n_nodes: int = 400) -> float:
    """``E[sigma(z + b)^2 He_p(z)^2]`` by Gauss-Legendre on the active half-line (no validation)."""
    lo = -b
    hi = max(lo, 0.0) + 40.0
    t, w = _legendre_rule(n_nodes)
    z = 0.5 * (hi - lo) * t + 0.5 * (hi + lo)
    he = np.polynomial.hermite_e.hermeval(z, np.eye(p + 1)[p])
    f = (z + b) ** 2 * he**2 * np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    return float(0.5 * (hi - lo) * np.sum(w * f))


def relu_label_hermite_energy(p: int, b: ArrayLike) -> float:
    """``J_p(b) = E[sigma(z + b)^2 He_p(z)^2]`` for ``z ~ N(0, 1)`` and the ReLU ``sigma``.

    The integrand is a polynomial times the normal density on the active
    half-line ``z > -b``; a 400-node Gauss-Legendre rule on ``[-b, max(-b, 0) + 40]``
    computes it to about 1e-13 relative accuracy for ``p <= 20``.

    Parameters
    ----------
    p : int
        Hermite degree, ``0 <= p <= 20``.
    b : float
        Bias of the unit (with unit weight vector).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``p`` is not an integer in ``[0, 20]`` or ``b`` is not finite.

    Examples
    --------
    >>> round(relu_label_hermite_energy(0, 0.0), 12)   # E[sigma(z)^2] = 1/2
    0.5
    """
    p = as_degree(p, "p")
    if p > 20:
        raise ValueError(f"p: expected a degree <= 20, got {p}")
    b = float(as_finite_array(b, "b", ndim=0))
    return float(check_finite_result(_relu_label_hermite_energy(p, b), f"J_{p}(b)", inputs="b",
                                     hint="expected a bias of moderate size"))


def _check_unit(order, b, a):
    k = as_degree(order, "order")
    if k > 20:
        raise ValueError(f"order: expected an order <= 20, got {k}")
    b = float(as_finite_array(b, "b", ndim=0))
    a = float(as_finite_array(a, "a", ndim=0))
    as_real_scalar(a, "a", max_power=2)  # a**2 below must not overflow
    return k, b, a


def _finite_unit_value(value: float) -> float:
    return float(check_finite_result(value, "the value", inputs="a, b",
                                     hint="expected a weight and a bias of moderate size"))


def _relu_g(k: int, b: float) -> float:
    from .hermite import relu_hermite_coefficient

    return float(relu_hermite_coefficient(k, b))


def unit_tensor_mse(order: int, b: ArrayLike, d: int, *, a: ArrayLike = 1.0) -> float:
    """``n E|T_k - f_k|_F^2`` for one ReLU unit: the exact mean squared error of eq. (6) of ATV21.

    For ``f(x) = a sigma(w.x + b)`` with ``|w| = 1``, ``x ~ N(0, I_d)`` and
    ``T_k = (1/n) sum_j f(x_j) He_k(x_j)``,

    ``n E|T_k - f_k|_F^2 = a^2 sum_{p=0}^{k} C(d+k-p-2, k-p) (k!/p!) J_p(b) - a^2 g_k(b)^2``

    with ``J_p`` from :func:`relu_label_hermite_energy` and ``g_k`` from
    :func:`relulib.relu_hermite_coefficient` (derived in the chapter
    "Sample complexity of the Hermite moments"). The result does not depend on ``n``.

    Parameters
    ----------
    order : int
        The tensor order ``k``, ``0 <= k <= 20``.
    b : float
        Bias (normalised: ``|w| = 1``).
    d : int
        Input dimension.
    a : float, default 1
        Output weight.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On a non-integer or out-of-range ``order`` or ``d``, or non-finite ``a``, ``b``.

    Examples
    --------
    >>> round(unit_tensor_mse(0, 0.0, 3), 12)   # Var sigma(z) = 1/2 - 1/(2 pi)
    0.340845056908
    """
    k, b, a = _check_unit(order, b, a)
    d = as_positive_int(d, "d")
    total = 0.0
    for p in range(k + 1):
        r = k - p
        count = 1 if r == 0 else math.comb(d + r - 2, r)
        if count:
            total += count * math.factorial(k) / math.factorial(p) * _relu_label_hermite_energy(p, b)
    return _finite_unit_value(a**2 * (total - _relu_g(k, b) ** 2))


def unit_contraction_variance(
    order: int, b: ArrayLike, rho: ArrayLike, *, a: ArrayLike = 1.0,
) -> float:
    """``n Var(T_k[u, ..., u])`` for one ReLU unit and a unit vector ``u`` with ``u.w = rho``.

    ``He_k(x)[u, ..., u] = He_k(u.x)`` and, writing ``u.x = rho s + sqrt(1 - rho^2) t``
    with ``s = w.x`` and ``t`` independent, the addition formula of the Hermite
    polynomials gives

    ``n Var = a^2 sum_{j=0}^{k} C(k, j)^2 rho^{2j} (1 - rho^2)^{k-j} (k-j)! J_j(b)
    - a^2 g_k(b)^2 rho^{2k}``.

    Parameters
    ----------
    order : int
        The order ``k``, ``0 <= k <= 20``.
    b : float
        Bias (normalised).
    rho : float
        Cosine between ``u`` and ``w``, in ``[-1, 1]``.
    a : float, default 1

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On out-of-range ``order`` or ``rho`` or non-finite values.

    Examples
    --------
    >>> bool(abs(unit_contraction_variance(3, 0.2, 1.0) - unit_tensor_mse(3, 0.2, 1)) < 1e-12)
    True
    """
    k, b, a = _check_unit(order, b, a)
    rho = float(as_finite_array(rho, "rho", ndim=0))
    if abs(rho) > 1:
        raise ValueError(f"rho: expected a cosine in [-1, 1], got {rho}")
    total = 0.0
    for j in range(k + 1):
        total += (math.comb(k, j) ** 2 * rho ** (2 * j) * (1 - rho**2) ** (k - j)
                  * math.factorial(k - j) * _relu_label_hermite_energy(j, b))
    return _finite_unit_value(a**2 * (total - _relu_g(k, b) ** 2 * rho ** (2 * k)))
