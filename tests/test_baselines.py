"""Tests of relulib.baselines: Adam on the square loss, the gradient-descent baseline."""

import numpy as np
import pytest

import relulib as rl
from relulib.baselines import GradientDescentResult, fit_adam, square_loss_gradient


@pytest.fixture(scope="module")
def biased_data():
    true = rl.random_network(5, 3, bias_scale=1.0, rng=0)
    X, Y = rl.gaussian_samples(true, 3000, rng=1)
    return true, X, Y


def _numeric_gradient(net, X, Y, h=1e-6):
    """Central differences of the loss in every entry of U, V and b."""
    out = []
    for name in ("U", "V", "b"):
        P = getattr(net, name)
        G = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            vals = []
            for s in (1.0, -1.0):
                Q = {n: getattr(net, n).copy() for n in ("U", "V", "b")}
                Q[name][idx] += s * h
                vals.append(square_loss_gradient(rl.TwoLayerNetwork(Q["U"], Q["V"], Q["b"]), X, Y).loss)
            G[idx] = (vals[0] - vals[1]) / (2 * h)
        out.append(G)
    return out


@pytest.mark.parametrize("m", [1, 3])
def test_gradient_matches_finite_differences(m):
    rng = np.random.default_rng(5)
    true = rl.random_network(4, 3, m, bias_scale=1.0, rng=rng)
    X, Y = rl.gaussian_samples(true, 200, rng=rng)
    guess = rl.random_network(4, 3, m, bias_scale=1.0, rng=rng)
    g = square_loss_gradient(guess, X, Y)
    dU, dV, db = _numeric_gradient(guess, X, Y)
    # Central differences are exact to O(h^2) for a smooth loss; with 200 samples no
    # pre-activation is within h of a kink here, so the error is rounding, about 1e-9.
    scale = max(np.abs(g.dU).max(), np.abs(g.dV).max(), np.abs(g.db).max())
    np.testing.assert_allclose(g.dU, dU, atol=1e-7 * scale)
    np.testing.assert_allclose(g.dV, dV, atol=1e-7 * scale)
    np.testing.assert_allclose(g.db, db, atol=1e-7 * scale)


def test_loss_is_half_mean_square_and_zero_at_truth(biased_data):
    true, X, Y = biased_data
    assert square_loss_gradient(true, X, Y).loss == 0.0
    other = rl.random_network(5, 3, bias_scale=1.0, rng=9)
    expected = 0.5 * np.mean(np.sum((Y - other.predict(X)) ** 2, axis=1))
    assert square_loss_gradient(other, X, Y).loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("batch_size", [None, 128])
def test_deterministic_under_rng(biased_data, batch_size):
    _, X, Y = biased_data
    a = fit_adam(X, Y, 3, max_steps=150, batch_size=batch_size, rng=7)
    b = fit_adam(X, Y, 3, max_steps=150, batch_size=batch_size, rng=7)
    c = fit_adam(X, Y, 3, max_steps=150, batch_size=batch_size, rng=8)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.network.V, b.network.V)
    np.testing.assert_array_equal(a.network.U, b.network.U)
    np.testing.assert_array_equal(a.network.b, b.network.b)
    assert not np.array_equal(a.network.V, c.network.V)


@pytest.mark.parametrize("batch_size", [None, 256])
def test_adam_decreases_the_loss(biased_data, batch_size):
    _, X, Y = biased_data
    res = fit_adam(X, Y, 3, max_steps=400, batch_size=batch_size, rng=3)
    assert isinstance(res, GradientDescentResult)
    assert res.steps == 400 and res.stopped_by == "steps" and len(res.losses) == 400
    start_loss = square_loss_gradient(
        rl.TwoLayerNetwork(*_start_of(X, Y, 3, rng=3)), X, Y
    ).loss
    # The random start of this instance has loss ~0.5; 400 Adam steps bring it below a tenth.
    assert res.final_loss < 0.1 * start_loss
    if batch_size is None:
        assert res.losses[0] == pytest.approx(start_loss, rel=1e-12)
        assert res.losses[-1] < res.losses[0]


def _start_of(X, Y, k, rng):
    from relulib.baselines import _random_start

    return _random_start(X.shape[1], k, Y.shape[1], np.random.default_rng(rng))


def test_tensor_start_at_truth_stops_immediately(biased_data):
    true, X, Y = biased_data
    res = fit_adam(X, Y, 3, start=true, max_steps=50, loss_tol=1e-20, rng=0)
    assert res.stopped_by == "loss" and res.steps == 0
    assert rl.parameter_error(true, res.network) == 0.0


def test_start_near_truth_converges(biased_data):
    true, X, Y = biased_data
    near = rl.TwoLayerNetwork(true.U + 0.02, true.V - 0.02, true.b + 0.02)
    res = fit_adam(X, Y, 3, start=near, max_steps=3000, learning_rate=1e-3, loss_tol=1e-20, rng=0)
    assert rl.parameter_error(true, res.network) < 1e-6


def test_no_bias_keeps_biases_zero():
    true = rl.random_network(4, 2, 3, rng=0)
    X, Y = rl.gaussian_samples(true, 500, rng=1)
    res = fit_adam(X, Y, 2, bias=False, max_steps=50, rng=2)
    assert np.all(res.network.b == 0) and res.network.m == 3


def test_time_budget_stops(biased_data):
    _, X, Y = biased_data
    res = fit_adam(X, Y, 3, max_steps=10**7, max_seconds=0.05, rng=0)
    assert res.stopped_by == "time" and 1 <= res.steps < 10**7
    assert len(res.losses) == res.steps


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0), "k: expected a positive integer"),
        (dict(max_steps=0), "max_steps: expected a positive integer"),
        (dict(max_seconds=-1.0), "max_seconds: expected a positive"),
        (dict(learning_rate=0.0), "learning_rate: expected a positive"),
        (dict(batch_size=2.5), "batch_size: expected a positive integer"),
        (dict(loss_tol=-1.0), "loss_tol: expected a non-negative"),
        (dict(beta1=1.0), "beta1: expected a decay rate"),
        (dict(beta2=-0.1), "beta2: expected a decay rate"),
        (dict(eps=0.0), "eps: expected a positive"),
        (dict(rng="seed"), "rng: expected"),
        (dict(start="net"), "start: expected a TwoLayerNetwork"),
        (dict(start=rl.random_network(5, 2, rng=0)), r"start: expected a network of shape"),
        (dict(start=rl.random_network(5, 3, activation="squared_relu", rng=0)), "start: the analytic gradient"),
    ],
)
def test_bad_inputs_raise(biased_data, kwargs, match):
    _, X, Y = biased_data
    args = dict(k=3)
    args.update(kwargs)
    k = args.pop("k")
    with pytest.raises(ValueError, match=match):
        fit_adam(X, Y, k, **args)


def test_bad_data_raise(biased_data):
    true, X, Y = biased_data
    with pytest.raises(ValueError, match="X: expected a 2-D array"):
        fit_adam(X[0], Y, 3)
    with pytest.raises(ValueError, match="Y: expected 3000 labels"):
        fit_adam(X, Y[:-1], 3)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X: expected finite values"):
        fit_adam(bad, Y, 3)
    with pytest.raises(ValueError, match="Y: expected 1 output column"):
        square_loss_gradient(true, X, np.hstack([Y, Y]))
    with pytest.raises(ValueError, match="net: expected a TwoLayerNetwork"):
        square_loss_gradient("net", X, Y)
