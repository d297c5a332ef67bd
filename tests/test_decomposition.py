"""Tests of relulib.decomposition: Jennrich's algorithm."""

import numpy as np
import pytest

import relulib as rl


@pytest.mark.parametrize("seed", range(10))
def test_jennrich_recovers_random_rank_r_tensors(seed):
    rng = np.random.default_rng(seed)
    d1, d2, d3 = 7, 6, 5
    r = int(rng.integers(2, 6))
    A, B, C = rng.standard_normal((d1, r)), rng.standard_normal((d2, r)), rng.standard_normal((d3, r))
    T = np.einsum("ir,jr,kr->ijk", A, B, C)
    cp = rl.jennrich(T, rng=seed)  # rank read off the flattening
    assert cp.rank == r
    assert cp.residual < 1e-10
    # each recovered a-factor is parallel to a true column (up to order and sign)
    cos = np.abs((A / np.linalg.norm(A, axis=0)).T @ cp.factors[0])
    assert np.all(np.abs(cos.max(axis=1) - 1.0) < 1e-10)


def test_jennrich_on_population_hermite_tensor():
    net = rl.random_network(6, 4, bias_scale=1.0, rng=3)
    cp = rl.jennrich(rl.hermite_coefficients(net, 3), 4, rng=0)
    weights, vectors = cp.as_symmetric()
    cos = np.abs(net.normalized().V @ vectors.T)
    assert np.all(np.abs(cos.max(axis=1) - 1.0) < 1e-10)
    np.testing.assert_allclose(
        rl.symmetric_rank_one_sum(weights, vectors, 3), rl.hermite_coefficients(net, 3), atol=1e-12
    )


def test_bad_inputs():
    with pytest.raises(ValueError, match="T: expected a 3-D array"):
        rl.jennrich(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match=r"rank: Jennrich's algorithm needs rank <= min\(d1, d2\) = 3"):
        rl.jennrich(np.ones((3, 4, 4)), 4)
    with pytest.raises(ValueError, match="T: expected a non-zero tensor"):
        rl.jennrich(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="T: expected finite values"):
        rl.jennrich(np.full((3, 3, 3), np.nan), 2)
    with pytest.raises(ValueError, match="rank: expected a positive integer"):
        rl.jennrich(np.ones((3, 3, 3)), 0)
