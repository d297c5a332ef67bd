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


def test_relative_residual_and_bad_inputs(planted):
    net, X, Y = planted(3, 2, n=100, seed=0)
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


def test_rows_fit_the_selected_samples_without_a_copy():
    # rows= streams over chunks of the selected rows; the result equals the fit on the
    # copy X[rows] up to the summation order, with and without biases and a margin
    true = rl.random_network(6, 3, bias_scale=0.5, rng=11)
    X, Y = rl.gaussian_samples(true, 30_000, noise=0.05, rng=12)
    rows = np.random.default_rng(13).permutation(X.shape[0])[:12_000]
    rough = rl.TwoLayerNetwork(true.U + 0.05, true.V + 0.05, true.b - 0.05)
    for kwargs in (dict(), dict(bias=False), dict(margin=0.05)):
        a = rl.refine_by_patterns(rough, X, Y, rows=rows, **kwargs)
        b = rl.refine_by_patterns(rough, X[rows], Y[rows], **kwargs)
        assert a.n_iter == b.n_iter and a.converged == b.converged
        assert rl.parameter_error(b.network, a.network) < 1e-12
        assert abs(a.residual - b.residual) <= 1e-12 * b.residual
    # the rows matter: the fit on the other samples differs by the noise
    other = np.setdiff1d(np.arange(X.shape[0]), rows)
    a = rl.refine_by_patterns(rough, X, Y, rows=rows)
    c = rl.refine_by_patterns(rough, X, Y, rows=other)
    assert rl.parameter_error(c.network, a.network) > 1e-5
    with pytest.raises(ValueError, match=r"rows: expected a non-empty array of row indices in \[0, 30000\)"):
        rl.refine_by_patterns(rough, X, Y, rows=[30_000])
