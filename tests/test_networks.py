"""Tests of relulib.networks: the model, its symmetries, sampling, validation."""

import numpy as np
import pytest

import relulib as rl


def test_predict_matches_formula():
    net = rl.random_network(6, 4, m=3, bias_scale=1.0, rng=0)
    X, Y = rl.gaussian_samples(net, 50, rng=1)
    expected = np.maximum(X @ net.V.T + net.b, 0) @ net.U.T
    np.testing.assert_allclose(Y, expected, atol=1e-14)
    assert X.shape == (50, 6) and Y.shape == (50, 3)
    np.testing.assert_allclose(net.predict(X[0]), Y[0])
    np.testing.assert_array_equal(net.W, net.V.T)


@pytest.mark.parametrize("activation", ["relu", "squared_relu"])
def test_normalisation_and_permutation_keep_the_function(activation):
    net = rl.random_network(5, 3, bias_scale=1.0, activation=activation, rng=2)
    scaled = rl.TwoLayerNetwork(net.U, 3.0 * net.V, 3.0 * net.b, activation)
    X = np.random.default_rng(3).standard_normal((100, 5))
    unit = scaled.normalized()
    np.testing.assert_allclose(np.linalg.norm(unit.V, axis=1), 1.0)
    np.testing.assert_allclose(unit.predict(X), scaled.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net.permuted([1, 2, 0]).predict(X), net.predict(X), atol=1e-13)


def test_sign_identity_gives_affine_difference():
    # sigma(t) - sigma(-t) = t
    net = rl.random_network(4, 2, bias_scale=1.0, rng=4)
    flipped = net.copy()
    flipped.V[0] *= -1
    flipped.b[0] *= -1
    X = np.random.default_rng(5).standard_normal((200, 4))
    a, w, b = net.a[0], net.V[0], net.b[0]
    np.testing.assert_allclose(
        net.predict(X)[:, 0] - flipped.predict(X)[:, 0], a * (X @ w + b), atol=1e-12
    )


def test_activations_are_rectified():
    t = np.linspace(-2, 2, 9)
    for name, act in rl.ACTIVATIONS.items():
        v = act(t)
        assert np.all(v[t <= 0] == 0) and np.all(v[t > 0] > 0), name
        s = act(np.array([0.3, 1.7]))
        np.testing.assert_allclose(act.inverse(s), [0.3, 1.7], rtol=1e-12)
    custom = rl.get_activation(lambda t: np.maximum(t, 0) ** 3)
    assert custom.inverse is None and custom.degree is None


def test_sampling_is_seeded_and_noisy():
    net = rl.random_network(3, 2, rng=6)
    X1, Y1 = rl.gaussian_samples(net, 1000, noise=0.5, rng=7)
    X2, Y2 = rl.gaussian_samples(net, 1000, noise=0.5, rng=7)
    np.testing.assert_array_equal(Y1, Y2)
    residual = Y1 - net.predict(X1)
    assert abs(residual.std() - 0.5) < 4 * 0.5 / np.sqrt(2 * 1000)


def test_bad_inputs():
    with pytest.raises(ValueError, match="U: expected 3 columns"):
        rl.TwoLayerNetwork(np.ones((1, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="V: expected a 2-D array"):
        rl.TwoLayerNetwork(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="b: expected shape"):
        rl.TwoLayerNetwork(np.ones(2), np.ones((2, 3)), b=np.ones(3))
    with pytest.raises(ValueError, match="V: expected finite values"):
        rl.TwoLayerNetwork(np.ones(2), np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="activation: expected one of"):
        rl.TwoLayerNetwork(np.ones(2), np.eye(2), activation="sigmoid")
    with pytest.raises(ValueError, match="activation: expected a rectified function"):
        rl.TwoLayerNetwork(np.ones(2), np.eye(2), activation=np.tanh)
    with pytest.raises(ValueError, match="activation: normalisation needs a positively homogeneous"):
        rl.random_network(3, 2, activation="rectified_tanh", rng=0).normalized()
    net = rl.random_network(3, 2, rng=0)
    with pytest.raises(ValueError, match="n: expected a positive integer, got -5"):
        rl.gaussian_samples(net, -5)
    with pytest.raises(ValueError, match="noise: expected a non-negative"):
        rl.gaussian_samples(net, 5, noise=-1.0)
    with pytest.raises(ValueError, match="X: expected 3 columns"):
        net.predict(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="d: expected a positive integer"):
        rl.random_network(0, 2)
    with pytest.raises(ValueError, match="rng: expected None, an integer seed"):
        rl.random_network(3, 2, rng="seed")
    with pytest.raises(ValueError, match="a: defined for single-output networks"):
        rl.random_network(3, 2, m=2, rng=0).a
