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
    total = float(a @ rl.relu_gaussian_kernel(V, b, V, b) @ a)
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
    with pytest.raises(ValueError, match="order: expected a non-negative integer"):
        rl.relu_hermite_tensor_quadrature([1.0], 0.0, -1)
    with pytest.raises(ValueError, match="V: expected non-zero rows"):
        rl.relu_hermite_energies([1.0], [[0.0, 0.0]], [0.0], 3)
    with pytest.raises(ValueError, match="a: expected shape"):
        rl.relu_hermite_energies([1.0, 2.0], [[1.0, 0.0]], [0.0], 3)
    with pytest.raises(ValueError, match="Y: expected one output column"):
        rl.hermite_coefficient_monte_carlo(np.zeros((5, 2)), np.zeros((5, 2)), 1)
    with pytest.raises(ValueError, match="X: expected at least 2 samples"):
        rl.hermite_coefficient_monte_carlo(np.zeros((1, 2)), np.zeros(1), 1)
    with pytest.raises(ValueError, match="Y: expected 5 labels"):
        rl.hermite_coefficient_monte_carlo(np.zeros((5, 2)), np.zeros(4), 1)
