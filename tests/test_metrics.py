"""Tests of relulib.metrics: the Theorem 3.1 parameter error."""

import numpy as np
import pytest

import relulib as rl


def test_invariant_to_permutation_and_scaling():
    net = rl.random_network(5, 4, m=2, bias_scale=1.0, rng=0)
    scales = np.array([0.5, 2.0, 3.0, 1.5])
    rescaled = rl.TwoLayerNetwork(net.U / scales, net.V * scales[:, None], net.b * scales)
    same = rescaled.permuted([3, 1, 0, 2])
    assert rl.parameter_error(net, same) < 1e-14


def test_detects_a_sign_flip_unless_forgiven():
    net = rl.random_network(5, 3, bias_scale=1.0, rng=1)
    flipped = net.copy()
    flipped.V[1] *= -1
    flipped.b[1] *= -1
    assert rl.parameter_error(net, flipped) > 1.0  # |2 w| alone is 2
    assert rl.parameter_error(net, flipped, up_to_sign=True) == 0.0


def test_value_is_the_largest_per_unit_error():
    net = rl.random_network(4, 3, bias_scale=1.0, rng=2)
    moved = net.copy()
    moved.b[2] += 0.1
    moved.U[0, 0] += 0.03
    assert abs(rl.parameter_error(net, moved) - 0.1) < 1e-12
    perm, errors = rl.match_units(net, moved)
    np.testing.assert_array_equal(perm, [0, 1, 2])
    np.testing.assert_allclose(errors, [0.03, 0.0, 0.1], atol=1e-12)


def test_bottleneck_matching_beats_sum_matching():
    # Two units, costs [[0, 3], [3, 0]] would be matched identically by either rule;
    # build a case where the min-sum matching is not the min-max one.
    from relulib.metrics import _bottleneck_assignment

    D = np.array([[1.0, 2.0], [2.0, 4.0]])  # min-sum: diag (5) vs anti (4); min-max: anti (2)
    rows, cols = _bottleneck_assignment(D)
    assert D[rows, cols].max() == 2.0


def test_bad_inputs():
    a = rl.random_network(4, 3, rng=0)
    with pytest.raises(ValueError, match=r"est_net: expected the shape \(d, k, m\)"):
        rl.parameter_error(a, rl.random_network(4, 2, rng=0))
    with pytest.raises(ValueError, match="est_net: expected a TwoLayerNetwork"):
        rl.parameter_error(a, "net")
