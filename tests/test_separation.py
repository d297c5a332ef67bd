"""Tests of relulib.separation (ATV21, Lemma 4.3 and its repair)."""

import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.polynomial import hermite_e

import relulib as rl


def test_integer_coefficients_match_numpy():
    for k in range(0, 15):
        expected = hermite_e.herme2poly(np.eye(k + 1)[k])
        assert np.array_equal(np.array(rl.hermite_prob_integer_coefficients(k), dtype=float), expected)


def test_exact_values_match_float_and_recurrence():
    x = Fraction(-1076, 10000)
    for k in range(1, 20):
        lhs = rl.hermite_prob_exact(k + 1, x)
        rhs = x * rl.hermite_prob_exact(k, x) - k * rl.hermite_prob_exact(k - 1, x)
        assert lhs == rhs  # DLMF 18.9.1, exactly
        assert math.isclose(float(rl.hermite_prob_exact(k, x)), float(rl.hermite_prob(k, float(x))), rel_tol=1e-12)
    assert rl.hermite_prob_exact(2, "1/2") == Fraction(-3, 4)


def test_lemma_4_3_holds_for_k_up_to_7():
    for k in range(0, 8):
        cert = rl.certify_root_separation(k)
        assert cert.holds and cert.witness is None
        assert cert.bound_squared == Fraction(math.factorial(k), 4)
        assert cert.n_cells == cert.n_roots + 1


def test_lemma_4_3_fails_at_k_8_with_exact_witness():
    cert = rl.certify_root_separation(8)
    assert not cert.holds
    x = cert.witness
    assert 4 * rl.hermite_prob_exact(8, x) ** 2 < math.factorial(8)
    assert 4 * rl.hermite_prob_exact(9, x) ** 2 < math.factorial(8)
    # the point quoted in ALGORITHMS.md is a counterexample too
    x = Fraction(-1076, 10000)
    assert max(rl.hermite_prob_exact(8, x) ** 2, rl.hermite_prob_exact(9, x) ** 2) < Fraction(math.factorial(8), 4)


def test_certificate_with_repaired_bound_holds():
    # the repaired bound at |x| <= 1 is k!/(k+3): no counterexample can exist there,
    # and the weaker uniform bound k!/(4 (k+2)) ... is certified for k = 8, 9 (where 1/4 fails)
    for k in (8, 9):
        assert rl.certify_root_separation(k, Fraction(math.factorial(k), 4 * (k + 2))).holds
    # a bound above the true minimum fails
    m = rl.separation_minimum(3)
    assert not rl.certify_root_separation(3, Fraction(m.value**2 * 1.0001).limit_denominator(10**9)).holds
    assert rl.certify_root_separation(3, Fraction(m.value**2 * 0.9999).limit_denominator(10**9)).holds


def test_separation_minimum_against_fine_grid():
    for k in (1, 5, 8, 13):
        m = rl.separation_minimum(k)
        grid = np.linspace(-4, 4, 400_001)
        values = np.maximum(np.abs(rl.hermite_prob(k, grid)), np.abs(rl.hermite_prob(k + 1, grid)))
        assert m.value <= values.min() * (1 + 1e-12)
        assert values.min() <= m.value * (1 + 1e-4)  # grid step 2e-5
        at = max(abs(rl.hermite_prob(k, m.x)), abs(rl.hermite_prob(k + 1, m.x)))
        assert math.isclose(at, m.value, rel_tol=1e-12)
    assert math.isclose(rl.separation_minimum(1).ratio, (math.sqrt(5) - 1) / 2, rel_tol=1e-12)
    m8 = rl.separation_minimum(8)
    assert m8.ratio < 0.5 and abs(m8.x + 0.1076) < 1e-3


def test_repaired_bound_and_identity():
    for k in range(0, 31):
        assert rl.separation_identity_holds(k)
    for k in (1, 8, 20, 40):
        x = np.linspace(-10, 10, 2001)
        lhs = np.maximum(np.abs(rl.hermite_prob(k, x)), np.abs(rl.hermite_prob(k + 1, x)))
        assert np.all(lhs >= rl.repaired_separation_bound(k, x) * (1 - 1e-12))
        m = rl.separation_minimum(k)
        assert m.value >= float(rl.repaired_separation_bound(k, m.x)) * (1 - 1e-12)


def test_identity_detects_a_wrong_identity():
    # the check can fail: a perturbed right-hand side is not an identity
    import relulib.separation as sep

    hk = sep._he_coefficients(3)
    assert sep._poly_mul(hk, hk) != sep._poly_mul(hk, sep._he_coefficients(4))[: len(hk) * 2 - 1]


def test_errors():
    with pytest.raises(ValueError, match="degree: expected a non-negative integer"):
        rl.certify_root_separation(-1)
    with pytest.raises(ValueError, match="degree: expected a non-negative integer"):
        rl.separation_minimum(2.5)
    with pytest.raises(ValueError, match="bound_squared: expected a non-negative rational"):
        rl.certify_root_separation(2, -1)
    with pytest.raises(ValueError, match="bound_squared: expected a rational"):
        rl.certify_root_separation(2, 0.25)
    with pytest.raises(ValueError, match="x: expected a rational"):
        rl.hermite_prob_exact(3, 0.1)
    with pytest.raises(ValueError, match="x: expected a rational number"):
        rl.hermite_prob_exact(3, "abc")
    with pytest.raises(ValueError, match="x: expected finite values"):
        rl.repaired_separation_bound(3, np.nan)
    with pytest.raises(ValueError, match="degree: expected at most 170"):
        rl.repaired_separation_bound(171, 0.0)
    with pytest.raises(ValueError, match="degree: expected a non-negative integer"):
        rl.separation_identity_holds(True)
