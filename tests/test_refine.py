"""Tests of relulib.refine: activation-pattern least squares and the certificate."""

import numpy as np
import pytest

import relulib as rl


@pytest.mark.parametrize("seed", range(4))
def test_noiseless_polishing_is_exact(seed):
    true = rl.random_network(8, 4, bias_scale=1.5, rng=seed)
    X, Y = rl.gaussian_samples(true, 20_000, rng=100 + seed)
    rng = np.random.default_rng(seed)
    rough = rl.TwoLayerNetwork(
        true.U + 0.1 * rng.standard_normal(true.U.shape),
        true.V + 0.1 * rng.standard_normal(true.V.shape),
        true.b + 0.1 * rng.standard_normal(true.k),
    )
    assert rl.parameter_error(true, rough) > 0.1
    res = rl.refine_by_patterns(rough, X, Y)
    assert res.converged
    assert rl.parameter_error(true, res.network) < 1e-12
    assert res.residual < 1e-13


def test_multi_output_without_bias():
    true = rl.random_network(6, 3, m=5, rng=7)
    X, Y = rl.gaussian_samples(true, 10_000, rng=8)
    rough = rl.TwoLayerNetwork(true.U * 1.1, true.V + 0.05)
    res = rl.refine_by_patterns(rough, X, Y, fit_bias=False)
    assert np.all(res.network.b == 0)
    assert rl.parameter_error(true, res.network) < 1e-12


def test_noisy_fit_is_least_squares_accuracy():
    true = rl.random_network(5, 2, bias_scale=0.5, rng=9)
    X, Y = rl.gaussian_samples(true, 40_000, noise=0.1, rng=10)
    res = rl.refine_by_patterns(true, X, Y)
    # O(noise / sqrt(n)) ~ 5e-4 per parameter: far below the noise level, far above rounding
    err = rl.parameter_error(true, res.network)
    assert 1e-5 < err < 2e-2


def test_relative_residual_and_bad_inputs():
    net = rl.random_network(3, 2, rng=0)
    X, Y = rl.gaussian_samples(net, 100, rng=1)
    assert rl.relative_residual(net, X, Y) == 0.0
    with pytest.raises(ValueError, match="Y: expected 1 output column"):
        rl.relative_residual(net, X, np.hstack([Y, Y]))
    with pytest.raises(ValueError, match="net: activation-pattern least squares needs the piecewise-linear ReLU"):
        rl.refine_by_patterns(rl.random_network(3, 2, activation="squared_relu", rng=0), X, Y)
    with pytest.raises(ValueError, match="X: expected at least 8 samples"):
        rl.refine_by_patterns(net, X[:5], Y[:5])
    with pytest.raises(ValueError, match="margin: expected a non-negative number"):
        rl.refine_by_patterns(net, X, Y, margin=-1.0)


# --- the least-squares solver inside the pattern iteration -------------------
def _pattern_design(n, d, k, seed, dead_unit=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    V = rng.standard_normal((k, d))
    active = X @ V.T > 0
    if dead_unit:
        active[:, 0] = False  # a unit that is never active: F has k - 1 blocks of rank d + 1
    from relulib.refine import _pattern_features

    return _pattern_features(X, active, True), rng


def test_normal_equations_match_a_qr_solve_to_rounding():
    from scipy import linalg

    from relulib.refine import _least_squares

    F, rng = _pattern_design(5000, 12, 5, seed=0)
    Y = rng.standard_normal((5000, 2))
    reference = linalg.lstsq(F, Y, lapack_driver="gelsd")[0]
    theta = _least_squares(F, Y)
    assert np.max(np.abs(theta - reference)) < 1e-13 * np.max(np.abs(reference))
    # a consistent system (noiseless data) is solved to rounding
    exact = rng.standard_normal((F.shape[1], 1))
    assert np.max(np.abs(_least_squares(F, F @ exact) - exact)) < 1e-13


def test_rank_deficient_pattern_falls_back_to_a_minimum_norm_type_solve():
    from relulib.refine import _least_squares

    F, rng = _pattern_design(3000, 6, 3, seed=1, dead_unit=True)
    Y = rng.standard_normal((3000, 1))
    theta = _least_squares(F, Y)  # Cholesky of F^T F fails: the gelsy branch answers
    assert np.all(np.isfinite(theta))
    assert np.all(theta[:7] == 0)  # the dead unit's block gets no weight
    # and the fit is the least-squares fit on the live blocks
    live = np.linalg.lstsq(F[:, 7:], Y, rcond=None)[0]
    assert np.allclose(theta[7:], live, atol=1e-12)
