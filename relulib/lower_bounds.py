"""Constructions behind the lower bounds of the chapter "Lower bounds in context".

* :func:`set_splitting_instance` and :func:`splitting_network`: the gadget of a
  reduction of the Blum-Rivest type from set splitting (hypergraph
  2-colouring) to exact fitting by a two-unit ReLU network on 0/1 inputs;
* :func:`alternating_polygon_network`: ``n_units`` unbiased ReLU units with
  alternating output signs, evenly spaced on a circle in a plane of
  ``R^d``; its Hermite coefficients of every order below ``n_units / 2``
  vanish, the kind of moment-matching family on which statistical-query
  lower bounds for Gaussian inputs are built;
* :func:`network_correlation`: ``E[f(x) g(x)]`` for two unbiased networks,
  exactly (arc-cosine kernel).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    InputTypeError, as_finite_array, as_network, as_positive_int, as_real_scalar, as_rng,
    check_array_entries, describe,
)
from .gaussian import relu_gaussian_kernel
from .networks import TwoLayerNetwork

__all__ = [
    "set_splitting_instance",
    "splitting_network",
    "alternating_polygon_network",
    "network_correlation",
]


def _as_sets(sets, d):
    if not isinstance(sets, (list, tuple)):
        raise InputTypeError(f"sets: expected a non-empty list of sets of elements, got {describe(sets)}")
    if len(sets) == 0:
        raise ValueError(f"sets: expected a non-empty list of sets of elements, got {describe(sets)}")
    out = []
    for s in sets:
        s = sorted(set(int(i) for i in s))
        if len(s) < 2 or s[0] < 0 or s[-1] >= d:
            raise ValueError(
                f"sets: expected sets of at least 2 elements of range({d}), got {s}")
        out.append(s)
    return out


def set_splitting_instance(sets: Iterable[Iterable[int]], d: int) -> tuple[np.ndarray, np.ndarray]:
    """Labelled 0/1 points encoding a set-splitting instance on the elements ``0..d-1``.

    The points are the unit vectors ``e_i`` with label 1 and, for each set
    ``S``, its indicator vector ``1_S`` with label 0. A colouring that splits
    every set gives a two-unit network fitting all labels
    (:func:`splitting_network`).

    Parameters
    ----------
    sets : list of iterables of int
        Each set has at least two elements in ``range(d)``.
    d : int
        Number of elements (the input dimension).

    Returns
    -------
    X : ndarray of shape (d + len(sets), d)
    y : ndarray of shape (d + len(sets),)

    Raises
    ------
    ValueError
        On an empty list, a set with fewer than 2 elements or an element out of range.
        ``d`` is refused before any allocation if the array it sizes would have more
        than ``MAX_ARRAY_ENTRIES`` (2**31) entries.

    Examples
    --------
    >>> X, y = set_splitting_instance([[0, 1], [1, 2]], 3)
    >>> X.shape, y.tolist()
    ((5, 3), [1.0, 1.0, 1.0, 0.0, 0.0])
    """
    d = as_positive_int(d, "d")
    check_array_entries("d", (d, d), "identity block of X (d, d)")
    sets = _as_sets(sets, d)
    X = np.vstack([np.eye(d)] + [np.isin(np.arange(d), s).astype(float)[None, :] for s in sets])
    y = np.concatenate([np.ones(d), np.zeros(len(sets))])
    return X, y


def splitting_network(colouring: ArrayLike, *, big: float | None = None) -> TwoLayerNetwork:
    """The two-unit network ``sigma(<v_1, x>) + sigma(<v_2, x>)`` built from a 2-colouring.

    ``v_1 = 1_A - M 1_B`` and ``v_2 = 1_B - M 1_A`` for the colour classes
    ``A = {i : colouring[i] = 0}`` and ``B`` (the rest); then ``f(e_i) = 1``
    for every ``i`` and ``f(1_S) = 0`` for every set ``S`` that meets both
    classes, provided ``M >= |S|``; a set inside one class gets ``f = |S|``.

    Parameters
    ----------
    colouring : array_like of shape (d,)
        Entries 0 or 1.
    big : float, optional
        The constant ``M``; default ``d``.

    Returns
    -------
    TwoLayerNetwork
        ``k = 2`` units, ``U = [[1, 1]]``, no biases.

    Raises
    ------
    ValueError
        If ``colouring`` is not a 1-D array of zeros and ones, or ``big <= 0``.

    Examples
    --------
    >>> X, y = set_splitting_instance([[0, 1], [1, 2]], 3)
    >>> net = splitting_network([0, 1, 0])
    >>> net.predict(X)[:, 0].tolist()
    [1.0, 1.0, 1.0, 0.0, 0.0]
    """
    c = as_finite_array(colouring, "colouring", ndim=1, nonempty=True)
    if not np.all((c == 0) | (c == 1)):
        raise ValueError(f"colouring: expected entries 0 or 1, got {np.unique(c).tolist()}")
    d = c.shape[0]
    big = float(d) if big is None else as_real_scalar(big, "big", low=0.0, low_open=True,
                                                      what="a positive number")
    A, B = (c == 0).astype(float), (c == 1).astype(float)
    V = np.vstack([A - big * B, B - big * A])
    return TwoLayerNetwork(np.ones((1, 2)), V)


def alternating_polygon_network(
    d: int, n_units: int, *, rng: int | np.random.Generator | None = None,
) -> TwoLayerNetwork:
    """``f(x) = sum_j (-1)^j sigma(<w_j, x>)`` with ``w_j`` evenly spaced on a circle.

    ``w_j = cos(2 pi j / N) p + sin(2 pi j / N) q`` for an orthonormal pair
    ``(p, q)`` (the first two coordinate vectors, or a random plane when
    ``rng`` is given) and ``N = n_units``, a multiple of 4. Every Hermite
    coefficient of order ``k < N / 2`` vanishes, and the order ``N / 2`` does
    not (chapter "Lower bounds in context"). Units ``j`` and ``j + N/2`` are
    antipodal with equal signs, so ``f(x) = sum_{j < N/2} (-1)^j |w_j . x|``.

    Parameters
    ----------
    d : int
        Input dimension, at least 2.
    n_units : int
        ``N``, a positive multiple of 4.
    rng : None, int or numpy.random.Generator, optional
        If given, the plane is drawn uniformly at random; otherwise it is
        spanned by the first two coordinate vectors.

    Returns
    -------
    TwoLayerNetwork

    Raises
    ------
    ValueError
        If ``d < 2`` or ``n_units`` is not a positive multiple of 4.
        ``d``, ``n_units`` are refused before any allocation if the array it sizes
        would have more than ``MAX_ARRAY_ENTRIES`` (2**31) entries.

    Examples
    --------
    >>> net = alternating_polygon_network(3, 8)
    >>> net.k, net.U.ravel().tolist()
    (8, [1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    """
    d = as_positive_int(d, "d")
    if d < 2:
        raise ValueError(f"d: expected d >= 2 (the units live in a plane), got {d}")
    N = as_positive_int(n_units, "n_units")
    if N % 4:
        raise ValueError(f"n_units: expected a positive multiple of 4, got {N}")
    check_array_entries("d, n_units", (N, d + 1), "network's parameters (n_units, d + 1)")
    if rng is None:
        P = np.eye(d)[:, :2]
    else:
        P = np.linalg.qr(as_rng(rng).standard_normal((d, 2)))[0]
    theta = 2 * np.pi * np.arange(N) / N
    V = np.column_stack([np.cos(theta), np.sin(theta)]) @ P.T
    U = ((-1.0) ** np.arange(N))[None, :]
    return TwoLayerNetwork(U, V)


def network_correlation(net1: TwoLayerNetwork, net2: TwoLayerNetwork) -> float:
    """``E[f(x) g(x)]`` for two single-output, unbiased ReLU networks, ``x ~ N(0, I_d)``.

    The double sum of ``u_i u'_j E[sigma(v_i.x) sigma(v'_j.x)]`` with the
    arc-cosine kernel :func:`relulib.relu_gaussian_kernel`.

    Parameters
    ----------
    net1, net2 : TwoLayerNetwork
        Single-output ReLU networks without biases, on the same ``d``.

    Returns
    -------
    float
        ``E[f(x) g(x)]``.

    Raises
    ------
    ValueError
        If the networks are not single-output ReLU networks without biases
        on the same ``d``.

    Examples
    --------
    >>> net = alternating_polygon_network(2, 4)
    >>> round(network_correlation(net, net), 12)  # f = |x_1| - |x_2|: 2 - 4/pi
    0.726760455265
    """
    for name, net in (("net1", net1), ("net2", net2)):
        as_network(net, name)
        if net.m != 1 or np.any(net.b != 0) or net.activation.name != "relu":
            raise ValueError(f"{name}: expected a single-output ReLU network without biases")
    if net1.d != net2.d:
        raise ValueError(f"net2: expected d={net1.d} like net1, got d={net2.d}")
    return float(net1.U[0] @ relu_gaussian_kernel(net1.V, None, net2.V, None) @ net2.U[0])
