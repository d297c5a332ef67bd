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
    res = rl.refine_by_patterns(rough, X, Y, bias=False)
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
def _reference(F, Y):
    from scipy import linalg

    return linalg.lstsq(F, Y, lapack_driver="gelsd")[0]


@pytest.mark.parametrize("intercept", [False, True])
def test_pattern_solver_matches_a_qr_solve_as_the_pattern_changes(intercept):
    from relulib._patterns import PatternLeastSquares

    rng = np.random.default_rng(0)
    n, d, k = 5000, 12, 5
    X = rng.standard_normal((n, d))
    Xa = np.hstack([X, np.ones((n, 1))])
    Y = rng.standard_normal((n, 2))
    V = rng.standard_normal((k, d))
    solver = PatternLeastSquares(Xa, Y, intercept=intercept)
    for step, scale in enumerate([0.0, 0.01, 0.01, 0.5, 0.001]):  # small moves: updates; 0.5: rebuild
        V = V + scale * rng.standard_normal(V.shape)
        active = X @ V.T > 0
        keep = None if step < 3 else rng.random(n) > 0.1  # later calls also drop rows
        theta = solver.solve(active, keep)
        F = solver.design()
        assert F.shape == (n, k * (d + 1) + intercept)
        Yk = Y if keep is None else Y * keep[:, None]
        reference = _reference(F, Yk)
        assert np.max(np.abs(theta - reference)) < 1e-12 * np.max(np.abs(reference))
        assert np.allclose(solver.apply(theta), F @ theta, rtol=0, atol=1e-12)
    # a consistent system (noiseless data) is solved to rounding
    exact = rng.standard_normal((F.shape[1], 1))
    consistent = PatternLeastSquares(Xa, F @ exact, intercept=intercept)
    assert np.max(np.abs(consistent.solve(active, keep) - exact)) < 1e-13


def test_rank_deficient_patterns_are_solved_on_the_live_units():
    from relulib._patterns import PatternLeastSquares

    rng = np.random.default_rng(1)
    X = rng.standard_normal((3000, 6))
    Xa = np.hstack([X, np.ones((3000, 1))])
    Y = rng.standard_normal((3000, 1))
    active = X @ rng.standard_normal((3, 6)).T > 0
    active[:, 0] = False  # a unit that is never active: F^T F is singular
    theta = PatternLeastSquares(Xa, Y).solve(active)  # Cholesky fails
    assert np.max(np.abs(theta[:7])) < 1e-12  # the dead unit's block gets no weight
    F = (active[:, :, None] * Xa[:, None, :]).reshape(3000, -1)
    assert np.allclose(theta[7:], np.linalg.lstsq(F[:, 7:], Y, rcond=None)[0], rtol=0, atol=1e-12)
    # two units with the same pattern: the minimum-norm least-squares solution
    active[:, 0] = active[:, 1]
    theta = PatternLeastSquares(Xa, Y).solve(active)
    F = (active[:, :, None] * Xa[:, None, :]).reshape(3000, -1)
    assert np.allclose(theta, _reference(F, Y), rtol=0, atol=1e-10)
