"""Memory of the recovery calls: at most 0.3 times the size of X on top of the inputs.

Measured with tracemalloc (numpy reports its allocations to it). Not timed. The moments
and the certificate stream over chunks of row indices; only the bounded polishing
subsample (recover_with_bias) and the n x k row-span basis (recover_exact) scale with n.
The pattern least squares on all samples (recover_noisy, bias False and True, and the
noisy fallback of recover_with_bias, which refines on the training rows by index) also
streams over chunks of rows, with the bias column of (x, 1) implicit: what scales with n
there is a few n x k boolean activation patterns (at d = 50, k = 5 each is 1/80 of X).
With a holdout, recover_noisy uses the training and held-out rows by index too (a copy
X[perm] of the training and held-out parts would add X's size once more).
"""

import tracemalloc

import numpy as np
import pytest

import relulib as rl


def _peak_extra(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def biased():
    net = rl.random_network(50, 5, bias_scale=1.0, rng=0)
    X, y = rl.gaussian_samples(net, 200_000, rng=1)
    return net, X, y


def test_recover_with_bias_adds_at_most_0_3_x(biased):
    net, X, y = biased
    result, peak = _peak_extra(lambda: rl.recover_with_bias(X, y, 5, rng=2))
    assert result.certified and rl.parameter_error(net, result.network) < 1e-9
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"


def test_recover_exact_adds_at_most_0_3_x():
    net = rl.random_network(50, 5, m=7, rng=0)
    X, Y = rl.gaussian_samples(net, 200_000, rng=1)
    result, peak = _peak_extra(lambda: rl.recover_exact(X, Y, 5, rng=2))
    assert result.certified and rl.parameter_error(net, result.network) < 1e-9
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"


def test_relative_residual_on_rows_equals_the_copy(biased):
    net, X, y = biased
    rows = np.random.default_rng(3).permutation(X.shape[0])[:5000]
    other = rl.TwoLayerNetwork(net.U, net.V, net.b + 0.01)
    a = rl.relative_residual(other, X, y, rows=rows)
    b = rl.relative_residual(other, X[rows], y[rows])
    assert a > 1e-4 and abs(a - b) <= 1e-13 * b
    with pytest.raises(ValueError, match="rows: expected a non-empty array of row indices"):
        rl.relative_residual(other, X, y, rows=[X.shape[0]])


@pytest.fixture(scope="module")
def noisy_biased():
    net = rl.random_network(50, 5, bias_scale=1.0, rng=0)
    X, y = rl.gaussian_samples(net, 200_000, noise=0.1, rng=1)
    return net, X, y


def test_recover_noisy_multi_output_adds_at_most_0_3_x():
    net = rl.random_network(50, 5, m=7, rng=0)
    X, Y = rl.gaussian_samples(net, 200_000, noise=0.1, rng=1)
    result, peak = _peak_extra(lambda: rl.recover_noisy(X, Y, 5, rng=2))
    assert rl.parameter_error(net, result.network) < 0.01  # measured 3.7e-3
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"


def test_recover_noisy_with_bias_adds_at_most_0_3_x(noisy_biased):
    net, X, y = noisy_biased
    result, peak = _peak_extra(lambda: rl.recover_noisy(X, y, 5, bias=True, rng=2))
    assert rl.parameter_error(net, result.network) < 0.01  # measured 4.9e-3
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"


def test_recover_with_bias_noisy_fallback_adds_at_most_0_3_x(noisy_biased):
    net, X, y = noisy_biased
    with pytest.warns(rl.CertificateWarning, match="fit on all 160000 training samples"):
        result, peak = _peak_extra(lambda: rl.recover_with_bias(X, y, 5, rng=2))
    # the refinement on all training samples ran and was kept: pattern least squares from
    # the true network on the 3000-sample polishing subset alone has error 0.038 here
    assert not result.certified and rl.parameter_error(net, result.network) < 0.01  # measured 5.1e-3
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"


def test_recover_noisy_with_holdout_adds_at_most_0_3_x(noisy_biased):
    # bias=True: projected moments, screening and pattern least squares on the training
    # rows, residual on the held-out rows, all by index (copying them added 1.17 x X)
    net, X, y = noisy_biased
    result, peak = _peak_extra(lambda: rl.recover_noisy(X, y, 5, bias=True, rng=2, holdout=0.2))
    assert rl.parameter_error(net, result.network) < 0.01  # measured 5.8e-3
    assert 0.05 < result.residual < 0.1  # held out: about the noise level 0.1 / |y|
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"


def test_recover_noisy_multi_output_with_holdout_adds_at_most_0_3_x():
    # bias=False: the moment initialisation also streams over the training rows
    net = rl.random_network(50, 5, m=7, rng=0)
    X, Y = rl.gaussian_samples(net, 200_000, noise=0.1, rng=1)
    result, peak = _peak_extra(lambda: rl.recover_noisy(X, Y, 5, rng=2, holdout=0.2, n_trials=1))
    assert rl.parameter_error(net, result.network) < 0.01  # measured 3.9e-3
    assert peak <= 0.3 * X.nbytes, f"peak {peak / X.nbytes:.2f} x X.nbytes"
