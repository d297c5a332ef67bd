"""Numerics at extreme scales: correct values or a clear error naming the limit (issue 15)."""

import math

import numpy as np
import pytest
from scipy import integrate, special

import relulib as rl


def _phi2_quad(h, k, rho):
    """Reference ``Phi_2(h, k; rho) = int_{-inf}^h phi(x) Phi((k - rho x)/s) dx`` (1-D quadrature)."""
    s = math.sqrt(1.0 - rho * rho)
    f = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * special.ndtr((k - rho * x) / s)
    lo = -40.0  # phi(x) < 1e-300 below
    if h <= lo:
        return 0.0
    kink = [k / rho] if rho != 0 and lo < k / rho < h else None  # where Phi(.) steps
    return integrate.quad(f, lo, h, points=kink, epsabs=1e-15, epsrel=1e-13, limit=400)[0]


@pytest.mark.parametrize("h, k, rho, want", [
    (1e-200, -1e-200, 0.3, 0.25 + math.asin(0.3) / (2 * math.pi)),  # was 0.7985 (underflow)
    (-1e-200, 1e-200, -0.5, 0.25 + math.asin(-0.5) / (2 * math.pi)),
    (1e-300, 1e-300, 0.0, 0.25),
    (1e200, 0.3, 0.4, special.ndtr(0.3)),
    (0.3, 1e200, -0.9, special.ndtr(0.3)),
    (-1e200, 0.3, 0.4, 0.0),
    (np.inf, -0.7, 0.2, special.ndtr(-0.7)),
    (-np.inf, 2.0, 0.2, 0.0),
    (np.inf, np.inf, -0.3, 1.0),
    (1e10, 1e10, 0.0, 1.0),
    (0.5, -0.2, 1.0, special.ndtr(-0.2)),
    (0.5, -0.2, -1.0, special.ndtr(0.5) + special.ndtr(-0.2) - 1.0),
])
def test_bivariate_cdf_at_extreme_arguments(h, k, rho, want):
    assert rl.bivariate_normal_cdf(h, k, rho) == pytest.approx(want, abs=1e-15)


def test_bivariate_cdf_matches_quadrature_on_a_grid():
    vals = [-6.0, -2.5, -0.7, -1e-9, 0.0, 1e-9, 0.3, 1.7, 5.0]
    rhos = [-0.999, -0.9, -0.3, 0.0, 0.5, 0.95, 0.999]
    worst = 0.0
    for h in vals:
        for k in vals:
            for r in rhos:
                worst = max(worst, abs(rl.bivariate_normal_cdf(h, k, r) - _phi2_quad(h, k, r)))
    assert worst < 1e-11


def test_bivariate_cdf_refuses_nan_complex_and_bad_rho():
    with pytest.raises(ValueError, match="h: expected no NaN"):
        rl.bivariate_normal_cdf(np.nan, 0.0, 0.0)
    with pytest.raises(TypeError, match="k: expected a real array, got complex"):
        rl.bivariate_normal_cdf(0.0, 1j, 0.0)
    with pytest.raises(ValueError, match="rho: expected correlations in"):
        rl.bivariate_normal_cdf(0.0, 0.0, 1.5)


def test_gauss_hermite_prob_stays_finite_for_many_nodes():
    for n in (301, 500, 2000):
        x, w = rl.gauss_hermite_prob(n)
        assert np.all(np.isfinite(x)) and np.all(np.isfinite(w)) and np.all(w >= 0)
        assert float(np.sum(w)) == pytest.approx(1.0, abs=1e-12)
        assert float(np.sum(w * x**4)) == pytest.approx(3.0, rel=1e-10)
    with pytest.raises(ValueError, match="n: expected at most 100000 nodes"):
        rl.gauss_hermite_prob(100_001)


def test_activation_hermite_coefficient_limit_and_accuracy():
    for j in (10, 30, 60):  # ReLU closed form: (-1)^j He_{j-2}(0) phi(0)
        exact = (-1) ** j * float(rl.hermite_prob(j - 2, 0.0)) / math.sqrt(2 * math.pi)
        assert rl.activation_hermite_coefficient("relu", j) == pytest.approx(exact, rel=1e-13)
    with pytest.raises(ValueError, match="order: expected at most 60"):
        rl.activation_hermite_coefficient("relu", 100)
    with pytest.raises(TypeError, match="order: expected a non-negative integer"):
        rl.activation_hermite_coefficient("relu", 2.5)


def test_parameter_error_is_infinite_across_activations():
    net = rl.random_network(4, 3, rng=0)
    other = rl.TwoLayerNetwork(net.U, net.V, net.b, activation="squared_relu")
    assert rl.parameter_error(net, other) == math.inf
    assert rl.parameter_error(other, other.permuted([2, 0, 1])) == 0.0


def test_relative_residual_with_huge_labels():
    net = rl.random_network(4, 3, rng=0)
    X, Y = rl.gaussian_samples(net, 200, rng=1)
    big = rl.TwoLayerNetwork(net.U * 1e200, net.V)
    r = rl.relative_residual(big, X, Y * 1e200)
    assert np.isfinite(r) and r < 1e-14
    wrong = rl.TwoLayerNetwork(net.U * 2e200, net.V)
    assert rl.relative_residual(wrong, X, Y * 1e200) == pytest.approx(1.0, rel=1e-12)


def test_moment_estimators_name_overflow():
    net = rl.random_network(4, 2, bias_scale=1.0, rng=0)
    X, Y = rl.gaussian_samples(net, 400, rng=1)
    with pytest.raises(ValueError, match="overflowed"), np.errstate(over="ignore", invalid="ignore"):
        rl.moment_estimate(X * 1e150, Y[:, 0] * 1e150, 2, rng=0)
    with pytest.raises(ValueError, match="overflowed"), np.errstate(over="ignore", invalid="ignore"):
        rl.empirical_hermite_tensor(X * 1e120, Y * 1e120, 3)
    with pytest.raises(ValueError, match="overflowed"), np.errstate(over="ignore", invalid="ignore"):
        rl.moment_matrix(X * 1e160, Y * 1e160, 2)
