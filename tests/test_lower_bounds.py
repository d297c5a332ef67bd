"""Tests of the lower-bound constructions: set-splitting gadget, moment-cancelling networks."""

import itertools

import numpy as np
import pytest

import relulib as rl


def _splits(colouring, sets):
    return all(len({colouring[i] for i in s}) == 2 for s in sets)


@pytest.mark.parametrize("sets, d", [
    ([[0, 1], [1, 2], [2, 3]], 4),            # a path: splittable
    ([[0, 1], [1, 2], [0, 2]], 3),            # a triangle: not splittable
    ([[0, 1, 2], [2, 3, 4], [0, 4, 1]], 5),
])
def test_network_from_colouring_fits_iff_colouring_splits(sets, d):
    X, y = rl.set_splitting_instance(sets, d)
    for colouring in itertools.product([0, 1], repeat=d):
        pred = rl.splitting_network(colouring).predict(X)[:, 0]
        assert np.array_equal(pred == y, np.ones_like(y, dtype=bool)) == _splits(colouring, sets)


@pytest.mark.parametrize("N", [4, 8, 12, 16])
def test_polygon_network_moments_vanish_below_half(N):
    net = rl.alternating_polygon_network(5, N, rng=N)
    for k in range(N // 2):
        assert np.abs(rl.hermite_coefficients(net, k)).max() < 1e-12
    assert np.linalg.norm(rl.hermite_coefficients(net, N // 2)) > 0.1


def test_polygon_network_is_a_sum_of_absolute_values():
    net = rl.alternating_polygon_network(3, 8)
    X = np.random.default_rng(0).standard_normal((100, 3))
    W = net.V[:4]
    np.testing.assert_allclose(net.predict(X)[:, 0], np.abs(X @ W.T) @ ((-1.0) ** np.arange(4)),
                               atol=1e-12)


def test_correlation_against_monte_carlo():
    f = rl.alternating_polygon_network(4, 8, rng=1)
    g = rl.alternating_polygon_network(4, 8, rng=2)
    X = np.random.default_rng(3).standard_normal((400_000, 4))
    prod = f.predict(X)[:, 0] * g.predict(X)[:, 0]
    se = prod.std() / np.sqrt(len(prod))
    assert abs(prod.mean() - rl.network_correlation(f, g)) < 4 * se


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_units: expected a positive multiple of 4, got 6"):
        rl.alternating_polygon_network(3, 6)
    with pytest.raises(ValueError, match="d: expected d >= 2"):
        rl.alternating_polygon_network(1, 4)
    with pytest.raises(ValueError, match="sets: expected sets of at least 2 elements"):
        rl.set_splitting_instance([[0]], 3)
    with pytest.raises(ValueError, match="colouring: expected entries 0 or 1"):
        rl.splitting_network([0, 2, 1])
    biased = rl.random_network(3, 2, bias_scale=1.0, rng=0)
    with pytest.raises(ValueError, match="net1: expected a single-output ReLU network"):
        rl.network_correlation(biased, biased)
