"""Memory of the recovery calls: at most 0.3 times the size of X on top of the inputs.

Measured with tracemalloc (numpy reports its allocations to it). Not timed. The moments
and the certificate stream over chunks of row indices; only the bounded polishing
subsample (recover_with_bias) and the n x k row-span basis (recover_exact) scale with n.
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
