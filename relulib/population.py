"""Population Hermite coefficients of a ReLU network (ATV21, Lemma 3.5).

For ``f(x) = sum_i a_i sigma(w_i.x + b_i)`` with unit vectors ``w_i``,

* ``f_0 = sum_i a_i (b_i Phi(b_i) + phi(b_i))``
* ``f_1 = sum_i a_i Phi(b_i) w_i``
* ``f_k = sum_i (-1)^k a_i He_{k-2}(b_i) phi(b_i) w_i^{(x)k}``, ``k >= 2``.

A network with non-unit rows of ``V`` is normalised first
(``a sigma(w.x + b) = a|w| sigma(w/|w|.x + b/|w|)``).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_degree, as_network
from .hermite import relu_hermite_coefficient
from .networks import TwoLayerNetwork
from .tensors import check_full_tensor_size

__all__ = ["hermite_coefficient_factors", "hermite_coefficients"]


def _check_relu_network(net) -> TwoLayerNetwork:
    as_network(net, "net")
    if net.activation.name != "relu":
        raise ValueError(
            "net: Lemma 3.5 of ATV21 is stated for the ReLU activation, got a network "
            f"with activation {net.activation.name!r}"
        )
    return net.normalized()


def hermite_coefficient_factors(net: TwoLayerNetwork, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank-one factors of ``f_order``: weights ``c`` and unit directions ``W``.

    ``f_order = sum_i c[:, i] * W[i]^{(x) order}`` (ATV21, Lemma 3.5), with
    ``c[r, i] = U[r, i] g_order(b_i)`` after normalisation, where ``g_k`` is
    :func:`relulib.relu_hermite_coefficient`. Useful when ``d`` is too large
    for the full tensor.

    Parameters
    ----------
    net : TwoLayerNetwork
        A ReLU network.
    order : int
        The order ``k >= 0`` of the coefficient ``f_k``.

    Returns
    -------
    weights : ndarray of shape (m, k)
    directions : ndarray of shape (k, d)
        Unit rows.

    Raises
    ------
    TypeError
        ``net`` not a :class:`relulib.TwoLayerNetwork` or ``order`` not an integer.
    ValueError
        ``net`` not a ReLU network or ``order`` negative. ``order`` above
        ``MAX_DEGREE`` (100 000) is refused before any work.
    """
    order = as_degree(order, "order")
    unit = _check_relu_network(net)
    return unit.U * relu_hermite_coefficient(order, unit.b)[None, :], unit.V


def hermite_coefficients(net: TwoLayerNetwork, order: int) -> np.ndarray:
    """Population Hermite coefficient ``f_order = E[f(x) He_order(x)]`` as a full tensor.

    ATV21, Lemma 3.5.

    Parameters
    ----------
    net : TwoLayerNetwork
        A ReLU network (any row norms; it is normalised internally).
    order : int

    Returns
    -------
    ndarray of shape ``(d,) * order`` (or ``(m,) + (d,) * order`` for ``m > 1`` outputs)

    Raises
    ------
    ValueError
        For a non-ReLU network, or if ``d**order`` is too large for a full tensor.
        ``order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> from relulib import random_network
    >>> net = random_network(3, 2, rng=0)
    >>> hermite_coefficients(net, 3).shape
    (3, 3, 3)
    """
    order = as_degree(order, "order")
    weights, W = hermite_coefficient_factors(net, order)
    check_full_tensor_size(W.shape[1], order)
    T = weights  # (m, k)
    for _ in range(order):
        T = T[..., None] * W.reshape((1, W.shape[0]) + (1,) * (T.ndim - 2) + (W.shape[1],))
    T = T.sum(axis=1)
    return T[0] if weights.shape[0] == 1 else T
