"""Tests of whitening, the tensor power method and the Jennrich perturbation bound."""

import numpy as np
import pytest

import relulib as rl


def _planted(seed, d=6, r=4, kappa=3.0):
    rng = np.random.default_rng(seed)
    Q1 = np.linalg.qr(rng.standard_normal((d, r)))[0]
    Q2 = np.linalg.qr(rng.standard_normal((r, r)))[0]
    A = Q1 @ np.diag(np.geomspace(1.0, 1.0 / kappa, r)) @ Q2
    A /= np.linalg.norm(A, axis=0)
    c = rng.uniform(0.5, 2.0, r)
    tau = rng.uniform(0.5, 1.5, r) * rng.choice([-1.0, 1.0], r)
    M = A @ np.diag(c) @ A.T
    T = np.einsum("r,ir,jr,kr->ijk", tau, A, A, A)
    return A, c, tau, M, T


def test_public_names():
    for name in ("whiten", "tensor_power_method", "whitened_power_decomposition",
                 "jennrich_perturbation_bound"):
        assert name in rl.__all__


@pytest.mark.parametrize("seed", range(5))
def test_whiten_makes_components_orthonormal(seed):
    A, c, _, M, _ = _planted(seed)
    W = rl.whiten(M, 4)
    np.testing.assert_allclose(W.T @ M @ W, np.eye(4), atol=1e-10)
    V = (W.T @ A) * np.sqrt(c)
    np.testing.assert_allclose(V.T @ V, np.eye(4), atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_power_method_exact_on_orthogonal_tensor(seed):
    rng = np.random.default_rng(seed)
    V = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    lam = rng.uniform(0.5, 2.0, 5) * rng.choice([-1.0, 1.0], 5)
    T = np.einsum("i,ai,bi,ci->abc", lam, V, V, V)
    w, U = rl.tensor_power_method(T, rng=seed)
    np.testing.assert_allclose(rl.symmetric_rank_one_sum(w, U, 3), T, atol=1e-10)
    cos = np.abs(U @ V)
    np.testing.assert_allclose(cos.max(axis=1), 1.0, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_whitened_power_decomposition_recovers_planted_factors(seed):
    A, _, tau, M, T = _planted(seed)
    w, U = rl.whitened_power_decomposition(M, T, 4, rng=seed)
    np.testing.assert_allclose(np.abs(U @ A).max(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(rl.symmetric_rank_one_sum(w, U, 3), T, atol=1e-9)


def test_power_method_is_reproducible_with_seed():
    _, _, _, M, T = _planted(0)
    Tw = np.einsum("abc,ai,bj,ck->ijk", T + 1e-3, *(3 * [rl.whiten(M, 4)]))
    a = rl.tensor_power_method(Tw, rng=7)
    b = rl.tensor_power_method(Tw, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("seed", range(20))
def test_perturbation_bound_holds(seed):
    rng = np.random.default_rng(seed)
    R = 4
    A = rng.standard_normal((R, R))
    A /= np.linalg.norm(A, axis=0)
    lam = rng.uniform(0.5, 1.5, R)
    T = np.einsum("r,ir,jr,kr->ijk", lam, A, A, A)
    E = rng.standard_normal(T.shape) * 10.0 ** rng.uniform(-8, -3)
    g, h = rng.standard_normal((2, R))
    Mg, Mh = (T + E) @ g, (T + E) @ h
    est, _ = rl.simultaneous_diagonalization(Mg, Mh, R)
    best = est[:, np.argmax(np.abs(A.T @ est), axis=1)]
    sin = np.linalg.norm(best - A * np.sum(A * best, axis=0), axis=0).max()
    bound = rl.jennrich_perturbation_bound(A, lam, g, h, E @ g, E @ h)
    assert sin <= bound


def test_perturbation_bound_zero_noise_and_invalid():
    A = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    z = np.zeros((3, 3))
    g, h = np.array([1.0, 2.0, 3.0]) @ A.T, np.ones(3) @ A.T
    assert rl.jennrich_perturbation_bound(A, [1, 1, 1], g, h, z, z) == 0.0
    assert rl.jennrich_perturbation_bound(A, [1, 1, 1], g, h, z, 10 * np.eye(3)) == np.inf


def test_bad_inputs():
    with pytest.raises(ValueError, match="M: expected a square matrix"):
        rl.whiten(np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match="rank: expected rank <= d = 2, got 3"):
        rl.whiten(np.eye(2), 3)
    with pytest.raises(ValueError, match="M: expected 2 non-zero eigenvalues"):
        rl.whiten(np.diag([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="T: expected a cubical tensor"):
        rl.tensor_power_method(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="n_starts: expected a positive integer"):
        rl.tensor_power_method(np.ones((2, 2, 2)), n_starts=0)
    with pytest.raises(ValueError, match="rank: expected rank <= r = 2, got 3"):
        rl.tensor_power_method(np.ones((2, 2, 2)), 3)
    with pytest.raises(ValueError, match="T: expected shape"):
        rl.whitened_power_decomposition(np.eye(3), np.ones((2, 2, 2)), 2)
    with pytest.raises(ValueError, match="A: expected a square matrix"):
        rl.jennrich_perturbation_bound(np.ones((2, 3)), [1, 1], [1, 1], [1, 1],
                                       np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="A: expected an invertible matrix"):
        rl.jennrich_perturbation_bound(np.ones((2, 2)), [1, 1], [1, 0], [1, 1],
                                       np.zeros((2, 2)), np.zeros((2, 2)))
