"""One validation layer (issue 15, step 2): wrong types raise TypeError, wrong values ValueError,
each message naming the parameter, the expectation and what was received."""

import numpy as np
import pytest

import relulib as rl
from relulib._validation import InputTypeError, as_int_in_range, as_real_scalar


@pytest.fixture(scope="module")
def data():
    net = rl.random_network(5, 3, m=3, rng=0)
    X, Y = rl.gaussian_samples(net, 2000, rng=1)
    return net, X, Y


def test_wrong_types_are_type_errors_and_still_value_errors():
    err = InputTypeError("x")
    assert isinstance(err, TypeError) and isinstance(err, ValueError)
    with pytest.raises(TypeError, match="holdout: expected a fraction, got str"):
        as_real_scalar("0.2", "holdout", what="a fraction")
    with pytest.raises(ValueError, match=r"holdout: expected a fraction in \(0.0, 1.0\), got 1.5"):
        as_real_scalar(1.5, "holdout", low=0.0, high=1.0, low_open=True, high_open=True,
                       what="a fraction")
    with pytest.raises(ValueError, match="tol: expected finite values"):
        as_real_scalar(np.nan, "tol")
    with pytest.raises(TypeError, match=r"max_restarts: expected an integer in \[0, 4\], got float"):
        as_int_in_range(2.0, "max_restarts", 0, 4)


@pytest.mark.parametrize("call, name", [
    (lambda X, Y: rl.recover_exact(X + 0j, Y, 3), "X"),
    (lambda X, Y: rl.moment_matrix(X, Y[:, 0] + 0j, 2), "Y"),
    (lambda X, Y: rl.empirical_hermite_tensor(X + 0j, Y[:, 0], 2), "X"),
    (lambda X, Y: rl.hermite_prob(2, X[:, 0] + 1j), "x"),
    (lambda X, Y: rl.normal_cdf(np.array([1j])), "t"),
    (lambda X, Y: rl.flattening_rank(np.ones((2, 2)) + 1j), "T"),
    (lambda X, Y: rl.simultaneous_diagonalization(np.eye(2) + 0j, np.eye(2), 2), "Mg"),
    (lambda X, Y: rl.approximate_directions(X + 0j, Y, 3), "X"),
])
def test_complex_input_is_refused_naming_the_parameter(data, call, name):
    _, X, Y = data
    with pytest.raises(TypeError, match=f"^{name}: expected a real array, got complex"):
        call(X, Y)


def test_counts_and_ranges(data):
    net, X, Y = data
    for k in (6, 0, -1):
        with pytest.raises(ValueError, match="k: expected"):
            rl.approximate_directions(X, Y, k)
    with pytest.raises(ValueError, match=r"X: expected at least d \(d \+ 1\) / 2 \+ 1 = 16 samples"):
        rl.moment_estimate(X[:2], Y[:2, 0], 2)
    with pytest.raises(ValueError, match=r"rank: expected an integer in \[1, 2\], got 3"):
        rl.simultaneous_diagonalization(np.eye(2), np.eye(2), 3)
    with pytest.raises(ValueError, match="Mh: expected shape"):
        rl.simultaneous_diagonalization(np.eye(2), np.eye(3), 2)
    with pytest.raises(ValueError, match="direction: expected shape"):
        rl.zero_pattern_unit(X, np.linalg.qr(Y)[0], np.ones(4), "relu")
    with pytest.raises(ValueError, match="quantile: expected a fraction"):
        rl.zero_pattern_unit(X, np.linalg.qr(Y)[0], np.ones(5), "relu", quantile=0.0)
    with pytest.raises(ValueError, match="quantile: expected a fraction"):
        rl.recover_null_space(X, Y, 3, quantile=1.0)
    with pytest.raises(TypeError, match="net: expected a TwoLayerNetwork, got str"):
        rl.gaussian_samples("net", 10)
    with pytest.raises(TypeError, match="perm: expected a 1-D integer array"):
        net.permuted([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="noise: expected a non-negative standard deviation"):
        rl.gaussian_samples(net, 10, noise=-1.0)
    with pytest.raises(TypeError, match="d: expected a positive integer"):
        rl.HermiteMomentAccumulator(3.0)
    with pytest.raises(ValueError, match="k, b: g_400.*overflowed.*smaller order"):
        rl.relu_hermite_coefficient(400, 3.0)
    with pytest.raises(ValueError, match="He_300"):
        rl.hermite_prob(300, 1e3)
