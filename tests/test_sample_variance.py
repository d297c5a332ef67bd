"""Tests of the exact variances of the empirical Hermite moments of one ReLU unit."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

import relulib as rl


def test_public_names():
    for name in ("relu_label_hermite_energy", "unit_tensor_mse", "unit_contraction_variance"):
        assert name in rl.__all__


@pytest.mark.parametrize("p", [0, 1, 4, 9])
@pytest.mark.parametrize("b", [-1.5, 0.0, 0.7, 2.0])
def test_energy_against_adaptive_quadrature(p, b):
    ref = quad(lambda z: (z + b) ** 2 * rl.hermite_prob(p, z) ** 2 * rl.normal_pdf(z),
               -b, np.inf, limit=200)[0]
    assert rl.relu_label_hermite_energy(p, b) == pytest.approx(ref, rel=1e-10)


def test_energy_without_bias_is_half_of_the_full_line():
    # sigma(z)^2 + sigma(-z)^2 = z^2 and He_p^2 is even: J_p(0) = E[z^2 He_p^2] / 2
    for p in range(8):
        full = rl.gauss_hermite_prob(40)
        nodes, weights = full
        ref = 0.5 * float(np.sum(weights * nodes**2 * rl.hermite_prob(p, nodes) ** 2))
        assert rl.relu_label_hermite_energy(p, 0.0) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_one_dimension_contraction_equals_full_tensor(k):
    assert rl.unit_contraction_variance(k, 0.3, 1.0, a=-2.0) == pytest.approx(
        rl.unit_tensor_mse(k, 0.3, 1, a=-2.0), rel=1e-13)


def test_orthogonal_direction_is_pure_noise():
    # u orthogonal to w: T_k[u..u] has mean 0 and variance E[y^2] k!
    k, b = 4, 0.4
    ey2 = rl.relu_label_hermite_energy(0, b)
    assert rl.unit_contraction_variance(k, b, 0.0) == pytest.approx(ey2 * math.factorial(k))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_tensor_mse_against_simulation(k):
    rng = np.random.default_rng(k)
    d, a, b = 3, 1.3, 0.5
    w = np.array([0.6, 0.8, 0.0])
    net = rl.TwoLayerNetwork(np.array([[a]]), w[None, :], np.array([b]))
    X, Y = rl.gaussian_samples(net, 200_000, rng=rng)
    H = rl.hermite_tensor(X, k).reshape(len(X), -1)
    sq = ((Y[:, :1] * H - rl.hermite_coefficients(net, k).ravel()) ** 2).sum(axis=1)
    se = sq.std(ddof=1) / math.sqrt(len(sq))
    assert abs(sq.mean() - rl.unit_tensor_mse(k, b, d, a=a)) < 4 * se


def test_bad_inputs():
    with pytest.raises(ValueError, match="p: expected a degree <= 20"):
        rl.relu_label_hermite_energy(21, 0.0)
    with pytest.raises(ValueError, match="d: expected a positive integer"):
        rl.unit_tensor_mse(2, 0.0, 0)
    with pytest.raises(ValueError, match=r"rho: expected a cosine in \[-1, 1\]"):
        rl.unit_contraction_variance(2, 0.0, 1.5)
    with pytest.raises(ValueError, match="b: expected finite values"):
        rl.unit_tensor_mse(2, np.nan, 3)
