"""Symmetric tensors: multivariate Hermite tensors, rank-one sums, flattenings.

The multivariate Hermite tensor of order ``k`` at ``x in R^d`` is
``He_k(x) = (-1)^k grad^k phi_d(x) / phi_d(x)`` (the convention of ATV21,
Section 1.1 and Appendix A).
Its entry at a multi-index ``(i_1, ..., i_k)`` in which coordinate ``c``
appears ``n_c`` times is ``prod_c He_{n_c}(x_c)``.  For instance
``He_2(x) = x x^T - I`` and, for any vector ``u``,
``He_k(x)[u, ..., u] = |u|^k He_k(u.x / |u|)``.

Full tensors have ``d^k`` entries, so this module refuses sizes above
:data:`MAX_FULL_TENSOR_ENTRIES`; large ``d`` is handled by the contracted
estimators of :mod:`relulib.moments`.
"""

from __future__ import annotations

import functools

from itertools import combinations_with_replacement

import numpy as np
from numpy.typing import ArrayLike
from numpy.polynomial import hermite_e

from ._validation import as_degree, as_finite_array, as_positive_int, check_finite_result

__all__ = [
    "MAX_FULL_TENSOR_ENTRIES",
    "hermite_tensor",
    "symmetric_rank_one_sum",
    "contract_last_modes",
    "flatten",
]

#: Largest number of entries ``d**order`` of a full tensor this library builds.
MAX_FULL_TENSOR_ENTRIES = 4_000_000


def check_full_tensor_size(d: int, order: int) -> None:
    """Raise if a full ``d**order`` tensor would be unreasonably large."""
    # d**order without forming a huge integer: 2**23 > MAX_FULL_TENSOR_ENTRIES already
    entries = d ** min(order, 64) if d >= 2 else d**order
    if entries > MAX_FULL_TENSOR_ENTRIES:
        raise ValueError(
            f"order: a full tensor of order {order} in dimension d={d} has {float(d) ** order:.3g} "
            f"entries, more than MAX_FULL_TENSOR_ENTRIES={MAX_FULL_TENSOR_ENTRIES:,}; "
            "use the contracted estimators relulib.moment_matrix / HermiteMomentAccumulator"
        )


@functools.lru_cache(maxsize=8)
def _sorted_multi_indices(d: int, order: int):
    """Sorted multi-indices, their (coordinate, degree) pairs, and the symmetric scatter map.

    Returns
    -------
    coords, degrees : ndarray of shape (M, order)
        For each sorted multi-index, the distinct coordinates it uses (padded
        with coordinate 0) and their multiplicities (padded with degree 0, and
        ``He_0 = 1``), so that the entry is ``prod_j He_{degrees[j]}(x[coords[j]])``.
    scatter : ndarray of shape (d**order,)
        Position in the sorted list of every full multi-index.
    """
    if order == 0:  # He_0 = 1: one entry, a product of He_0(x_0)
        zeros = np.zeros((1, 1), dtype=np.intp)
        return zeros, zeros, np.zeros(1, dtype=np.intp)
    combos = np.array(list(combinations_with_replacement(range(d), order)), dtype=np.intp)
    M = combos.shape[0]
    coords = np.zeros((M, order), dtype=np.intp)
    degrees = np.zeros((M, order), dtype=np.intp)
    for row, combo in enumerate(combos):
        values, counts = np.unique(combo, return_counts=True)
        coords[row, : len(values)] = values
        degrees[row, : len(values)] = counts
    shape = (d,) * order
    full = np.indices(shape).reshape(order, -1)
    full_sorted = np.sort(full, axis=0)
    lookup = np.empty(d**order, dtype=np.intp)
    lookup[np.ravel_multi_index(combos.T, shape)] = np.arange(M)
    scatter = lookup[np.ravel_multi_index(full_sorted, shape)]
    for a in (coords, degrees, scatter):  # cached: shared by every chunk, never written
        a.setflags(write=False)
    return coords, degrees, scatter


def hermite_tensor_entries(X: np.ndarray, order: int):
    """Distinct entries of ``He_order(x)`` for each row of ``X`` (no validation).

    Returns ``(entries, scatter)`` with ``entries`` of shape (n, M) and the
    scatter map of :func:`_sorted_multi_indices`.
    """
    n, d = X.shape
    coords, degrees, scatter = _sorted_multi_indices(d, order)
    V = hermite_e.hermevander(X, order).reshape(n, -1)  # column c (order + 1) + j: He_j(x_c)
    columns = coords * (order + 1) + degrees  # (M, order)
    entries = V[:, columns[:, 0]]  # (n, M); a running product of gathered columns
    for j in range(1, order):  # (faster than np.prod over a gathered (n, M, order) array)
        entries *= V[:, columns[:, j]]
    return entries, scatter


def hermite_tensor(x: ArrayLike, order: int) -> np.ndarray:
    """Multivariate Hermite tensor ``He_order(x)``.

    Parameters
    ----------
    x : array_like of shape (d,) or (n, d)
        One point or a batch of points (rows).
    order : int
        Tensor order ``k >= 0``.

    Returns
    -------
    ndarray of shape ``(d,) * order`` or ``(n,) + (d,) * order``

    Raises
    ------
    ValueError
        If ``x`` is not a finite 1-D/2-D array, or ``d**order`` exceeds
        :data:`MAX_FULL_TENSOR_ENTRIES`.
        ``order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> x = np.array([1.0, 2.0])
    >>> np.allclose(hermite_tensor(x, 2), np.outer(x, x) - np.eye(2))
    True
    """
    order = as_degree(order, "order")
    x = as_finite_array(x, "x", ndim=(1, 2), nonempty=True)
    single = x.ndim == 1
    X = x[None, :] if single else x
    d = X.shape[1]
    check_full_tensor_size(d, order)
    entries, scatter = hermite_tensor_entries(X, order)
    T = entries[:, scatter].reshape((X.shape[0],) + (d,) * order)
    check_finite_result(T, f"the order-{order} Hermite tensor", inputs="x",
                        hint="expected x of moderate scale: rescale it")
    return T[0] if single else T


def symmetric_rank_one_sum(weights: ArrayLike, vectors: ArrayLike, order: int) -> np.ndarray:
    """The symmetric tensor ``sum_i weights[i] * vectors[i]^{(x) order}``.

    Parameters
    ----------
    weights : array_like of shape (r,)
    vectors : array_like of shape (r, d)
        One vector per row.
    order : int

    Returns
    -------
    ndarray of shape ``(d,) * order``

    Raises
    ------
    TypeError
        ``order`` not an integer.
    ValueError
        ``order`` negative; ``vectors`` not a non-empty finite (r, d) array or
        ``weights`` not finite of shape (r,); a full tensor of more than
        ``MAX_FULL_TENSOR_ENTRIES`` (4 000 000) entries ``d**order``; a sum that
        overflows. ``order`` above ``MAX_DEGREE`` (100 000) is refused before any
        work.
    """
    order = as_degree(order, "order")
    vectors = as_finite_array(vectors, "vectors", ndim=2, nonempty=True)
    r, d = vectors.shape
    weights = as_finite_array(weights, "weights", shape=(r,))
    check_full_tensor_size(d, order)
    T = weights.copy()
    for _ in range(order):
        T = T[..., None] * vectors.reshape((r,) + (1,) * (T.ndim - 1) + (d,))
    return check_finite_result(T.sum(axis=0), "the symmetric tensor", inputs="weights, vectors",
                               hint="expected weights and vectors of moderate scale: rescale them")


def contract_last_modes(T: ArrayLike, *vectors: ArrayLike) -> np.ndarray:
    """Contract the last modes of ``T`` with the given vectors.

    ``contract_last_modes(T, g, h)`` is ``T[..., g, h]``, i.e.
    ``sum_{k,l} T[..., k, l] g_k h_l``; the last vector contracts the last mode.

    Parameters
    ----------
    T : array_like
        A tensor of order at least ``len(vectors)``.
    *vectors : array_like
        One vector per contracted mode, of the length of that mode.

    Returns
    -------
    numpy.ndarray
        ``T`` with its last ``len(vectors)`` modes contracted.

    Raises
    ------
    ValueError
        ``T`` not finite, more vectors than the order of ``T``, or a vector not
        finite of length ``T.shape[-1]``.
    """
    T = as_finite_array(T, "T")
    if len(vectors) > T.ndim:
        raise ValueError(
            f"vectors: expected at most {T.ndim} vectors for a tensor of order {T.ndim}, "
            f"got {len(vectors)}"
        )
    for v in reversed(vectors):
        v = as_finite_array(v, "vectors", shape=(T.shape[-1],))
        T = T @ v
    return T


def flatten(T: ArrayLike, *group_sizes: int) -> np.ndarray:
    """Flatten a tensor by grouping consecutive modes (Algorithm 1 of ATV21).

    ``flatten(T, l, l, 1)`` turns an order-``2l+1`` tensor on ``R^d`` into a
    ``d^l x d^l x d`` tensor; the group sizes must add up to the order.

    Parameters
    ----------
    T : array_like
        A tensor on ``R^d`` (every mode of length ``d``).
    *group_sizes : int
        Sizes of the groups of consecutive modes; they add up to the order of ``T``.

    Returns
    -------
    numpy.ndarray
        A tensor with one mode of length ``d**s`` per group size ``s``.

    Raises
    ------
    TypeError
        A group size not an integer.
    ValueError
        ``T`` not finite, a group size below 1, or sizes not adding up to the
        order of ``T``.

    Examples
    --------
    >>> flatten(np.zeros((3,) * 5), 2, 2, 1).shape
    (9, 9, 3)
    """
    T = as_finite_array(T, "T")
    sizes = [as_positive_int(g, "group_sizes") for g in group_sizes]
    if sum(sizes) != T.ndim:
        raise ValueError(
            f"group_sizes: expected sizes adding up to the tensor order {T.ndim}, got {sizes}"
        )
    shape = []
    axis = 0
    for g in sizes:
        shape.append(int(np.prod(T.shape[axis : axis + g])))
        axis += g
    return T.reshape(shape)
