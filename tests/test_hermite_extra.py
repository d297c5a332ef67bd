"""Tests of the helpers of the chapter "Hermite analysis" appended to relulib.hermite."""

import math

import numpy as np
import pytest

import relulib as rl


def _rank_one(c, w, k):
    T = np.asarray(c, dtype=float)
    for _ in range(k):
        T = np.multiply.outer(T, w)
    return T


def test_relu_kernel_closed_form_special_cases():
    e1, e2 = np.eye(2)
    assert math.isclose(rl.relu_kernel(e1, e1), 0.5, rel_tol=1e-15)
    assert math.isclose(rl.relu_kernel(e1, e2), 1 / (2 * math.pi), rel_tol=1e-15)  # independent: (1/sqrt(2 pi))^2
    assert abs(rl.relu_kernel(e1, -e1)) < 1e-16
    assert math.isclose(rl.relu_kernel(2 * e1, 3 * e2), 6 / (2 * math.pi), rel_tol=1e-15)


def test_relu_kernel_quadrature_matches_closed_form_and_series():
    rng = np.random.default_rng(0)
    w, v = rng.standard_normal(4), rng.standard_normal(4)
    # a negligible bias takes the quadrature branch
    assert abs(rl.relu_kernel(w, v, 1e-300, 0.0) - rl.relu_kernel(w, v)) < 1e-13
    # parallel units: E[sigma(z + b)^2] = (1 + b^2) Phi(b) + b phi(b)
    for b in (-2.0, 0.3, 1.0, 3.0):
        exact = (1 + b * b) * rl.normal_cdf(b) + b * rl.normal_pdf(b)
        assert abs(rl.relu_kernel(w, w, b * np.linalg.norm(w), b * np.linalg.norm(w)) / np.linalg.norm(w) ** 2 - exact) < 1e-13
    # non-parallel biased units: Hermite series (Lemma 3.5), geometric in rho = w.v
    wh, vh = w / np.linalg.norm(w), v / np.linalg.norm(v)
    b, c = 0.7, -1.2
    rho = float(wh @ vh)
    series = sum(
        rl.relu_hermite_coefficient(k, b) * rl.relu_hermite_coefficient(k, c) * rho**k / math.factorial(k)
        for k in range(0, 120)
    )
    assert abs(rl.relu_kernel(wh, vh, b, c) - series) < 1e-12


def test_relu_hermite_tensor_quadrature_matches_lemma_3_5():
    rng = np.random.default_rng(1)
    for d, b in ((1, 0.0), (3, 0.8), (3, -1.5), (4, 2.5)):
        w = rng.standard_normal(d)
        wn = np.linalg.norm(w)
        for k in range(0, 5):
            T = rl.relu_hermite_tensor_quadrature(w, b, k)
            expected = _rank_one(wn * rl.relu_hermite_coefficient(k, b / wn), w / wn, k)
            assert np.max(np.abs(T - expected)) < 1e-12
    # the check can fail: a wrong bias is detected
    T = rl.relu_hermite_tensor_quadrature([1.0, 0.0], 0.5, 3)
    assert np.max(np.abs(T - _rank_one(rl.relu_hermite_coefficient(3, 0.4), [1.0, 0.0], 3))) > 1e-3


def test_relu_hermite_energies_parseval():
    rng = np.random.default_rng(2)
    V = rng.standard_normal((3, 4))
    a = np.array([1.0, -0.5, 2.0])
    b = np.array([0.5, -1.0, 0.0])
    e = rl.relu_hermite_energies(a, V, b, 3)
    net = rl.TwoLayerNetwork(a[None, :], V, b)
    for k in range(4):
        fk = rl.hermite_coefficients(net, k)
        assert math.isclose(e[k], float(np.sum(fk * fk)) / math.factorial(k), rel_tol=1e-12, abs_tol=1e-15)
    # long series against the kernel: the tail decays like k^(-3/2)
    e = rl.relu_hermite_energies(a, V, b, 20000)
    total = sum(a[i] * a[j] * rl.relu_kernel(V[i], V[j], b[i], b[j]) for i in range(3) for j in range(3))
    tail = total - e.sum()
    assert 0 < tail < 1e-3


def test_monte_carlo_within_standard_errors():
    rng = np.random.default_rng(3)
    net = rl.random_network(3, 2, bias_scale=1.0, rng=rng)
    X, Y = rl.gaussian_samples(net, 200_000, rng=rng)
    for k in range(0, 4):
        est = rl.hermite_coefficient_monte_carlo(X, Y, k, chunk_size=30_000)
        z = np.abs(est.mean - rl.hermite_coefficients(net, k)) / est.standard_error
        assert np.max(z) < 4.5
        assert est.mean.shape == (3,) * k and est.n == 200_000
        assert np.allclose(est.mean, rl.empirical_hermite_tensor(X, Y, k))
    # the check can fail: a wrong coefficient is many standard errors away
    est = rl.hermite_coefficient_monte_carlo(X, Y, 2)
    assert np.max(np.abs(est.mean - 1.1 * rl.hermite_coefficients(net, 2)) / est.standard_error) > 10


def test_errors():
    with pytest.raises(ValueError, match="w: expected a non-zero weight vector"):
        rl.relu_kernel([0.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="v: expected shape"):
        rl.relu_kernel([1.0, 0.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="b: expected finite values"):
        rl.relu_kernel([1.0], [1.0], np.inf)
    with pytest.raises(ValueError, match="order: expected a non-negative integer"):
        rl.relu_hermite_tensor_quadrature([1.0], 0.0, -1)
    with pytest.raises(ValueError, match="V: expected non-zero rows"):
        rl.relu_hermite_energies([1.0], [[0.0, 0.0]], [0.0], 3)
    with pytest.raises(ValueError, match="a: expected shape"):
        rl.relu_hermite_energies([1.0, 2.0], [[1.0, 0.0]], [0.0], 3)
    with pytest.raises(ValueError, match="y: expected one output column"):
        rl.hermite_coefficient_monte_carlo(np.zeros((5, 2)), np.zeros((5, 2)), 1)
    with pytest.raises(ValueError, match="X: expected at least 2 samples"):
        rl.hermite_coefficient_monte_carlo(np.zeros((1, 2)), np.zeros(1), 1)
    with pytest.raises(ValueError, match="y: expected 5 labels"):
        rl.hermite_coefficient_monte_carlo(np.zeros((5, 2)), np.zeros(4), 1)
