"""Tests of relulib.gaussian: normal pdf/cdf, bivariate CDF, ReLU kernels, tail integrals.

Every closed form is checked against an independent computation: scipy's quadrature or
distributions, a 2-D Gauss-Legendre rule on the region where both units are active
(``quadrature_reference``), the Hermite series of ATV21, Lemma 3.5, or the L2 distance.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

import relulib as rl
from quadrature_reference import L, gauss_legendre, phi, quadrature_kernel


# ---------------------------------------------------------------------------
# One-dimensional: phi, Phi, g_0
# ---------------------------------------------------------------------------
def test_normal_pdf_and_cdf_against_scipy_stats():
    t = np.array([-np.inf, -40.0, -3.0, -0.5, 0.0, 0.5, 3.0, 40.0, np.inf])
    np.testing.assert_allclose(rl.normal_pdf(t), stats.norm.pdf(t), rtol=1e-14, atol=0)
    np.testing.assert_allclose(rl.normal_cdf(t), stats.norm.cdf(t), rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="t: "):
        rl.normal_cdf(np.nan)


def test_relu_gaussian_mean_is_g0():
    for b in (-4.0, -1.0, 0.0, 0.7, 3.0):
        num = integrate.quad(lambda z: max(z + b, 0.0) * phi(z), -b, np.inf)[0]
        assert rl.relu_gaussian_mean(b) == pytest.approx(num, abs=1e-12)
        # the same function is ATV21, Lemma 3.5 at order 0
        assert float(rl.relu_gaussian_mean(b)) == float(rl.relu_hermite_coefficient(0, b))
    assert abs(float(rl.relu_gaussian_mean(0.0)) - 1 / math.sqrt(2 * math.pi)) < 1e-16
    with pytest.raises(ValueError, match="b: expected finite values"):
        rl.relu_gaussian_mean(np.inf)


# ---------------------------------------------------------------------------
# Bivariate normal CDF
# ---------------------------------------------------------------------------
def test_bivariate_normal_cdf():
    rng = np.random.default_rng(10)
    for h, k, rho in zip(rng.uniform(-3, 3, 20), rng.uniform(-3, 3, 20), rng.uniform(-0.99, 0.99, 20)):
        ref = stats.multivariate_normal(cov=[[1, rho], [rho, 1]]).cdf([h, k])
        assert rl.bivariate_normal_cdf(h, k, rho) == pytest.approx(ref, abs=1e-6)  # scipy's own accuracy
    assert rl.bivariate_normal_cdf(0.0, 0.0, 0.5) == pytest.approx(1 / 3, abs=1e-15)
    assert rl.bivariate_normal_cdf(0.0, 1.0, 0.0) == pytest.approx(0.5 * rl.normal_cdf(1.0), abs=1e-15)
    assert rl.bivariate_normal_cdf(0.7, -0.2, 1.0) == pytest.approx(rl.normal_cdf(-0.2), abs=1e-15)
    with pytest.raises(ValueError, match="rho: expected correlations in"):
        rl.bivariate_normal_cdf(0.0, 0.0, 1.5)


# ---------------------------------------------------------------------------
# The biased arc-cosine kernel
# ---------------------------------------------------------------------------
def _unit_pair_kernel(beta, gamma, rho):
    """K(beta, gamma, rho) through the public API: unit vectors at correlation rho."""
    s = math.sqrt(1.0 - rho * rho)
    return float(rl.relu_gaussian_kernel([[1.0, 0.0]], [beta], [[rho, s]], [gamma])[0, 0])


def test_kernel_matches_2d_quadrature():
    rng = np.random.default_rng(8)
    for _ in range(25):
        beta, gamma = rng.uniform(-3, 3, size=2)
        rho = rng.uniform(-0.995, 0.995)
        assert abs(_unit_pair_kernel(beta, gamma, rho) - quadrature_kernel(beta, gamma, rho)) < 1e-10


def test_kernel_special_cases():
    rng = np.random.default_rng(9)
    V1, V2 = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    K = rl.relu_gaussian_kernel(V1, None, V2, None)
    n1, n2 = np.linalg.norm(V1, axis=1), np.linalg.norm(V2, axis=1)
    theta = np.arccos(np.clip((V1 / n1[:, None]) @ (V2 / n2[:, None]).T, -1, 1))
    arccos = np.outer(n1, n2) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    np.testing.assert_allclose(K, arccos, atol=1e-14)  # Cho and Saul, degree 1
    # biased: against the 2-D quadrature, scaled by the norms
    b1, b2 = rng.normal(size=4), rng.normal(size=5)
    Kb = rl.relu_gaussian_kernel(V1, b1, V2, b2)
    ref = np.array([[n1[i] * n2[j] * quadrature_kernel(b1[i] / n1[i], b2[j] / n2[j],
                                                       float(V1[i] @ V2[j] / (n1[i] * n2[j])))
                     for j in range(5)] for i in range(4)])
    np.testing.assert_allclose(Kb, ref, atol=1e-10)
    # independent units factorise; parallel and antiparallel units against 1-D Gauss-Legendre
    Kb = rl.relu_gaussian_kernel([[1.0, 0.0]], [b1[0]], [[0.0, 2.0]], [b2[0]])[0, 0]
    mean = lambda s, c: s * ((c / s) * rl.normal_cdf(c / s) + rl.normal_pdf(c / s))  # noqa: E731
    assert Kb == pytest.approx(mean(1.0, b1[0]) * mean(2.0, b2[0]), abs=1e-14)
    for sgn in (1.0, -1.0):  # Z2 = sgn Z1: 1-D Gauss-Legendre on the interval where both are active
        K1 = rl.relu_gaussian_kernel([[1.0]], [0.3], [[sgn * 1.5]], [-0.2])[0, 0]
        lo, hi = (max(-0.3, 0.2 / 1.5), L) if sgn > 0 else (-0.3, -0.2 / 1.5)
        z, w = gauss_legendre(lo, hi)
        ref = np.sum(w * phi(z) * (z + 0.3) * (sgn * 1.5 * z - 0.2))
        assert K1 == pytest.approx(ref, abs=1e-13)
    # zero rows are constants
    K0 = rl.relu_gaussian_kernel([[0.0, 0.0]], [2.0], [[1.0, 0.0]], [0.0])[0, 0]
    assert K0 == pytest.approx(2.0 / math.sqrt(2 * math.pi), abs=1e-15)


def test_kernel_closed_form_values_and_hermite_series():
    e1, e2 = np.eye(2)
    pair = lambda w, v, b=None, c=None: float(  # noqa: E731
        rl.relu_gaussian_kernel([w], None if b is None else [b], [v], None if c is None else [c])[0, 0])
    assert math.isclose(pair(e1, e1), 0.5, rel_tol=1e-15)
    assert math.isclose(pair(e1, e2), 1 / (2 * math.pi), rel_tol=1e-15)  # independent: (1/sqrt(2 pi))^2
    assert abs(pair(e1, -e1)) < 1e-16
    assert math.isclose(pair(2 * e1, 3 * e2), 6 / (2 * math.pi), rel_tol=1e-15)
    # parallel units: E[sigma(z + b)^2] = (1 + b^2) Phi(b) + b phi(b)
    rng = np.random.default_rng(0)
    w, v = rng.standard_normal(4), rng.standard_normal(4)
    nw = np.linalg.norm(w)
    for b in (-2.0, 0.3, 1.0, 3.0):
        exact = (1 + b * b) * rl.normal_cdf(b) + b * rl.normal_pdf(b)
        assert abs(pair(w, w, b * nw, b * nw) / nw**2 - exact) < 1e-13
    # non-parallel biased units: Hermite series (ATV21, Lemma 3.5), geometric in rho = w.v
    wh, vh = w / nw, v / np.linalg.norm(v)
    b, c = 0.7, -1.2
    rho = float(wh @ vh)
    series = sum(
        rl.relu_hermite_coefficient(k, b) * rl.relu_hermite_coefficient(k, c) * rho**k / math.factorial(k)
        for k in range(0, 120)
    )
    assert abs(pair(wh, vh, b, c) - series) < 1e-12


def test_kernel_validation():
    with pytest.raises(ValueError, match=r"V2: expected 3 columns"):
        rl.relu_gaussian_kernel(np.ones((2, 3)), None, np.ones((2, 2)), None)
    with pytest.raises(ValueError, match=r"b1: expected shape \(2\)"):
        rl.relu_gaussian_kernel(np.ones((2, 3)), np.ones(3), np.ones((2, 3)), None)


def test_relu_kernel_is_a_deprecated_wrapper_of_the_closed_form():
    rng = np.random.default_rng(4)
    w, v = rng.standard_normal(3), rng.standard_normal(3)
    with pytest.warns(DeprecationWarning, match="relu_gaussian_kernel"):
        value = rl.relu_kernel(w, v, 0.4, -0.9)
    assert isinstance(value, float)
    assert value == float(rl.relu_gaussian_kernel([w], [0.4], [v], [-0.9])[0, 0])
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="w: expected a non-zero weight vector"):
            rl.relu_kernel([0.0, 0.0], [1.0, 0.0])
        with pytest.raises(ValueError, match="v: expected shape"):
            rl.relu_kernel([1.0, 0.0], [1.0, 0.0, 0.0])
        with pytest.raises(ValueError, match="b: expected finite values"):
            rl.relu_kernel([1.0], [1.0], np.inf)


# ---------------------------------------------------------------------------
# Tail integral (large biases)
# ---------------------------------------------------------------------------
def test_relu_tail_l2_matches_quadrature():
    for b in (0.5, 2.0, 3.0, -3.0):
        num = integrate.quad(lambda z: max(z - abs(b), 0.0) ** 2 * phi(z), abs(b), np.inf)[0]
        assert abs(rl.relu_tail_l2(b) - num) < 1e-10
    assert abs(float(rl.relu_tail_l2(3.0)) - 2.0e-4) < 5e-6
    # far tail: 0 (below 1e-300), never NaN or negative
    np.testing.assert_array_equal(rl.relu_tail_l2([39.0, -1e6]), [0.0, 0.0])
    assert np.all(rl.relu_tail_l2(np.linspace(-37, 37, 301)) >= 0)


def test_relu_tail_l2_is_the_l2_cost_of_the_limit():
    b = np.array([-3.0, -2.0, -0.5, 0.0, 0.5, 2.0, 3.0, -5.5, 5.5])
    closed = rl.relu_tail_l2(b)
    assert f"{closed[5]:.1e}" == "5.8e-03" and f"{closed[6]:.1e}" == "2.0e-04"
    for bi, ci in zip(b, closed):
        unit = rl.TwoLayerNetwork([1.0], [[1.0]], [bi])
        # the limit: the affine function z + b = sigma(z + b) - sigma(-z - b) for b > 0, else 0
        limit = (
            rl.TwoLayerNetwork([1.0, -1.0], [[1.0], [-1.0]], [bi, -bi])
            if bi > 0
            else rl.TwoLayerNetwork([0.0], [[1.0]], [0.0])
        )
        assert rl.l2_distance(unit, limit) ** 2 == pytest.approx(ci, rel=1e-9)  # no cancellation
    with pytest.raises(ValueError, match="b: expected finite values"):
        rl.relu_tail_l2([np.inf])


def test_large_bias_replacement_error_is_a_deprecated_alias():
    b = np.array([-2.0, 0.5, 3.0])
    with pytest.warns(DeprecationWarning, match="relu_tail_l2"):
        alias = rl.large_bias_replacement_error(b)
    np.testing.assert_array_equal(alias, rl.relu_tail_l2(b))
    with pytest.warns(DeprecationWarning):
        assert rl.large_bias_replacement_error(2.0) == rl.relu_tail_l2(2.0)
