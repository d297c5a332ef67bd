"""The parameter error of ATV21, Theorem 3.1, after the best matching of units.

Theorem 3.1 bounds, for every unit ``i`` after a permutation,
``|w_i - w~_i| + |a_i - a~_i| + |b_i - b~_i|``; the error of an estimate is
the largest of these. With several outputs (BJW19) the column ``u_i`` of
``U`` takes the place of ``a_i``. Both networks are normalised first (unit
rows of ``V``), which removes the positive-scaling symmetry, and the
permutation symmetry is removed by the matching that minimises the largest
per-unit error (a bottleneck assignment, solved with
``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import as_network
from .networks import TwoLayerNetwork

__all__ = ["unit_distance_matrix", "match_units", "parameter_error"]


def _check_pair(true_net, est_net):
    for name, net in (("true_net", true_net), ("est_net", est_net)):
        as_network(net, name)
    if (true_net.d, true_net.k, true_net.m) != (est_net.d, est_net.k, est_net.m):
        raise ValueError(
            "est_net: expected the shape (d, k, m) of true_net "
            f"{(true_net.d, true_net.k, true_net.m)}, got {(est_net.d, est_net.k, est_net.m)}"
        )


def _comparable(net: TwoLayerNetwork) -> TwoLayerNetwork:
    # Non-homogeneous activations have no scaling symmetry: compare raw parameters.
    return net if net.activation.degree is None else net.normalized()


def unit_distance_matrix(
    true_net: TwoLayerNetwork, est_net: TwoLayerNetwork, *, up_to_sign: bool = False,
) -> np.ndarray:
    """Per-unit errors ``D[i, j]`` between unit ``i`` of ``true_net`` and unit ``j`` of ``est_net``.

    ``D[i, j] = |v_i - v~_j| + |u_i - u~_j| + |b_i - b~_j|`` after normalisation.
    With ``up_to_sign=True`` the estimate's unit may also be read as
    ``(u~_j, -v~_j, -b~_j)``, the sign ambiguity of ATV21, Theorem 3.4.

    Parameters
    ----------
    true_net, est_net : TwoLayerNetwork
        Of equal ``d``, ``k`` and ``m``.
    up_to_sign : bool, default False
        Also accept the sign-flipped reading of each estimated unit.

    Returns
    -------
    numpy.ndarray of shape (k, k)
        The distances ``D[i, j]``.

    Raises
    ------
    TypeError
        ``true_net`` or ``est_net`` not a :class:`relulib.TwoLayerNetwork`.
    ValueError
        ``est_net`` of another shape ``(d, k, m)`` than ``true_net``.
    """
    _check_pair(true_net, est_net)
    t, e = _comparable(true_net), _comparable(est_net)

    def dist(sign):
        dv = np.linalg.norm(t.V[:, None, :] - sign * e.V[None, :, :], axis=2)
        du = np.linalg.norm(t.U[:, :, None] - e.U[:, None, :], axis=0)
        db = np.abs(t.b[:, None] - sign * e.b[None, :])
        return dv + du + db

    D = dist(1.0)
    if up_to_sign:
        D = np.minimum(D, dist(-1.0))
    return D


def _bottleneck_assignment(D: np.ndarray):
    """Permutation minimising the largest matched cost (ties broken by the total)."""
    values = np.unique(D)
    lo, hi = 0, len(values) - 1
    while lo < hi:  # smallest threshold admitting a perfect matching
        mid = (lo + hi) // 2
        rows, cols = linear_sum_assignment((D > values[mid]).astype(float))
        if np.any(D[rows, cols] > values[mid]):
            lo = mid + 1
        else:
            hi = mid
    big = np.where(D <= values[lo], D, np.inf)
    return linear_sum_assignment(np.where(np.isfinite(big), big, D.max() * D.size + 1.0))


def match_units(
    true_net: TwoLayerNetwork, est_net: TwoLayerNetwork, *, up_to_sign: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Best matching of hidden units: ``perm[i]`` is the estimate's unit matched to true unit ``i``.

    Parameters
    ----------
    true_net, est_net : TwoLayerNetwork
        Of equal ``d``, ``k`` and ``m``.
    up_to_sign : bool, default False
        Also accept the sign-flipped reading of each estimated unit.

    Returns
    -------
    perm : ndarray of int, shape (k,)
    errors : ndarray of shape (k,)
        Per-unit error of each matched pair.

    Raises
    ------
    TypeError
        ``true_net`` or ``est_net`` not a :class:`relulib.TwoLayerNetwork`.
    ValueError
        ``est_net`` of another shape ``(d, k, m)`` than ``true_net``.
    """
    D = unit_distance_matrix(true_net, est_net, up_to_sign=up_to_sign)
    rows, cols = _bottleneck_assignment(D)
    perm = np.empty(D.shape[0], dtype=int)
    perm[rows] = cols
    return perm, D[np.arange(D.shape[0]), perm]


def parameter_error(
    true_net: TwoLayerNetwork, est_net: TwoLayerNetwork, *, up_to_sign: bool = False,
) -> float:
    """Theorem 3.1 error: ``max_i |v_i - v~_i| + |u_i - u~_i| + |b_i - b~_i|``.

    Taken after normalising both networks (unit rows of ``V``) and matching
    units optimally. Invariant to permuting and positively rescaling units;
    a flipped unit ``(u, -v, -b)`` counts as an error unless ``up_to_sign``.

    Networks with different activations (``true_net.activation !=
    est_net.activation``: another name, or another callable) have no common
    parameters: their error is ``inf``, never 0, even with equal weights.

    Parameters
    ----------
    true_net, est_net : TwoLayerNetwork
        Of equal ``d``, ``k`` and ``m``.
    up_to_sign : bool, default False
        Forgive the sign flips ``(v, b) -> (-v, -b)`` of ATV21, Theorem 3.4.

    Returns
    -------
    float
        The error; ``inf`` for networks with different activations.

    Raises
    ------
    TypeError
        ``true_net`` or ``est_net`` not a :class:`relulib.TwoLayerNetwork`.
    ValueError
        ``est_net`` of another shape ``(d, k, m)`` than ``true_net``.

    Examples
    --------
    >>> from relulib import random_network
    >>> net = random_network(4, 3, bias_scale=1.0, rng=0)
    >>> parameter_error(net, net.permuted([2, 0, 1]))
    0.0
    """
    _check_pair(true_net, est_net)
    if true_net.activation != est_net.activation:
        # Different activations: no matching of parameters makes the two networks
        # the same model, so the parameter error is infinite (the rule stated above).
        return float("inf")
    _, errors = match_units(true_net, est_net, up_to_sign=up_to_sign)
    return float(errors.max())
