"""Tests of relulib.hermite: identities, not magic numbers; the quadrature, Parseval energies
and Monte Carlo helpers of the chapter "Hermite analysis"."""

import math

import numpy as np
import pytest

import relulib as rl


@pytest.mark.parametrize("k", range(0, 9))
def test_recurrence(k):
    # DLMF 18.9.1 for He_k: He_{k+1} = x He_k - k He_{k-1}
    x = np.linspace(-3, 3, 41)
    lhs = rl.hermite_prob(k + 1, x)
    rhs = x * rl.hermite_prob(k, x) - (k * rl.hermite_prob(k - 1, x) if k > 0 else 0.0)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-9)


def test_orthogonality_by_gauss_quadrature():
    # E[He_j He_k] = k! delta_jk; 30 nodes are exact for degree <= 59
    x, w = rl.gauss_hermite_prob(30)
    assert math.isclose(w.sum(), 1.0, rel_tol=1e-13)  # normal weights, not exp(-x^2/2)
    V = rl.hermite_prob_vander(x, 12)
    norms = np.sqrt([math.factorial(k) for k in range(13)])
    V = V / norms  # orthonormal basis He_k / sqrt(k!)
    gram = V.T @ (w[:, None] * V)
    np.testing.assert_allclose(gram, np.eye(13), atol=1e-12)


def test_vander_matches_single_polynomials():
    x = np.array([-1.3, 0.0, 0.7, 2.2])
    V = rl.hermite_prob_vander(x, 6)
    for k in range(7):
        np.testing.assert_allclose(V[:, k], rl.hermite_prob(k, x), rtol=1e-14)


@pytest.mark.parametrize("b", [-1.7, -1.0, 0.0, 0.4, 1.0, 2.5])
@pytest.mark.parametrize("k", range(0, 8))
def test_relu_coefficient_matches_quadrature(k, b):
    # E[sigma(z + b) He_k(z)]: integrate the smooth part on (-b, inf), beyond the
    # kink, with adaptive quadrature against the normal density.
    from scipy import integrate

    def integrand(z):
        return (z + b) * rl.hermite_prob(k, z) * rl.normal_pdf(z)

    # the tail beyond z = 14 is below phi(14) ~ 1e-43
    value, _ = integrate.quad(integrand, -b, 14.0, epsabs=1e-12, epsrel=1e-11, limit=200)
    assert abs(float(rl.relu_hermite_coefficient(k, b)) - value) < 1e-10


def test_relu_coefficient_roots():
    # Order 3 carries He_1(b) = b, order 4 carries He_2(b) = b^2 - 1 (ATV21, Lemma 3.5)
    assert rl.relu_hermite_coefficient(3, 0.0) == 0.0
    np.testing.assert_allclose(rl.relu_hermite_coefficient(4, [-1.0, 1.0]), 0.0, atol=1e-16)
    assert rl.relu_hermite_coefficient(2, 0.0) > 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="degree: expected a non-negative integer"):
        rl.hermite_prob(-1, 0.5)
    with pytest.raises(ValueError, match="degree: expected a non-negative integer"):
        rl.hermite_prob(2.5, 0.5)
    with pytest.raises(ValueError, match="n: expected a positive integer"):
        rl.gauss_hermite_prob(0)
    with pytest.raises(ValueError, match="b: expected finite values"):
        rl.relu_hermite_coefficient(3, [0.0, np.nan])


# ---------------------------------------------------------------------------
# Helpers of the chapter "Hermite analysis": quadrature, energies, Monte Carlo
# ---------------------------------------------------------------------------
# (formerly tests/test_hermite_extra.py: Tests of the helpers of the chapter "Hermite analysis" appended to relulib.hermite.)
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
