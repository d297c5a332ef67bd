"""Tests of relulib.hermite: identities, not magic numbers."""

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
