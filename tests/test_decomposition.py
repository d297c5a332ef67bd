"""Tests of relulib.decomposition: Jennrich's algorithm and its robustness options
(best-separated draws, averaging, slices), whitening, the tensor power method, the
Jennrich perturbation bound, and CP-ALS cross-checked against TensorLy."""

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


# --- robustness options ----------------------------------------------------------
def _tensor(d=6, r=4, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, r))
    A /= np.linalg.norm(A, axis=0)
    w = rng.uniform(0.5, 1.5, r)
    return np.einsum("r,ir,jr,kr->ijk", w, A, A, A), A, rng


def _factor_error(A, est):
    return float(np.max(1 - np.max(np.abs(A.T @ est), axis=1)))


def test_eigenvalue_separation():
    assert rl.eigenvalue_separation([1.0, 2.0, 4.0]) == pytest.approx(0.25)
    assert rl.eigenvalue_separation(np.array([1 + 1j, 1 - 1j])) < 0


@pytest.mark.parametrize("average", [False, True])
def test_jennrich_trials_exact(average):
    T, A, _ = _tensor()
    cp = rl.jennrich(T, 4, rng=1, n_trials=5, average=average)
    assert cp.residual < 1e-12
    assert _factor_error(A, cp.factors[0]) < 1e-12


def test_best_separated_draw_helps_under_noise():
    """Median factor error over noisy instances: 10 draws beat 1 draw."""
    errs = {1: [], 10: []}
    for seed in range(20):
        T, A, rng = _tensor(seed=seed)
        noisy = T + 0.02 * rng.standard_normal(T.shape)
        for n in errs:
            errs[n].append(_factor_error(A, rl.jennrich(noisy, 4, rng=seed, n_trials=n).factors[0]))
    assert np.median(errs[10]) < np.median(errs[1])


def test_jennrich_slices_with_reference():
    T, A, rng = _tensor()
    slices = np.moveaxis(T, -1, 0)
    est = rl.jennrich_slices(slices, A @ A.T, 4, rng=0, n_trials=3)
    assert _factor_error(A, est) < 1e-12
    est2 = rl.jennrich_slices(slices, None, 4, rng=0)
    assert _factor_error(A, est2) < 1e-10


def test_jennrich_slices_errors():
    with pytest.raises(ValueError, match="slices: expected a 3-D array"):
        rl.jennrich_slices(np.zeros((3, 3)), None)
    with pytest.raises(ValueError, match=r"reference: expected shape \(3, 3\)"):
        rl.jennrich_slices(np.ones((2, 3, 3)), np.eye(4))
    with pytest.raises(ValueError, match="rank: expected rank <= min"):
        rl.jennrich_slices(np.ones((2, 3, 3)), np.eye(3), 4)
    with pytest.raises(ValueError, match="n_trials: expected a positive integer"):
        rl.jennrich(np.ones((3, 3, 3)), 1, n_trials=0)


def test_kruskal_rank_and_fact_4_7():
    """ATV21 Fact 4.7: krank(U . V) = min(krank U + krank V - 1, m), on an example."""
    rng = np.random.default_rng(0)
    U = rng.standard_normal((3, 5))  # krank 3
    assert rl.kruskal_rank(U) == 3
    assert rl.kruskal_rank(rl.khatri_rao(U, U)) == 5
    U[:, 1] = 2 * U[:, 0]  # parallel columns: krank 1
    assert rl.kruskal_rank(U) == 1
    assert rl.kruskal_rank(rl.khatri_rao(U, U)) == 1
    with pytest.raises(ValueError, match="B: expected 5 columns"):
        rl.khatri_rao(U, U[:, :2])


def test_cp_als_exact_on_easy_tensor():
    T, A, _ = _tensor(d=5, r=2, seed=3)
    cp = rl.cp_als(T, 2, rng=0)
    assert cp.residual < 1e-6
    with pytest.raises(ValueError, match="rank: expected a positive integer"):
        rl.cp_als(T, 0)


# ---------------------------------------------------------------------------
# Cross-check against TensorLy (the maintained implementation of CP-ALS)
# ---------------------------------------------------------------------------
def _unit_columns(M):
    return M / np.linalg.norm(M, axis=0)


def test_khatri_rao_and_cp_reconstruction_match_tensorly():
    tl = pytest.importorskip("tensorly")
    rng = np.random.default_rng(40)
    A, B, C = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal((6, 3))
    ours, theirs = rl.khatri_rao(A, B), tl.tenalg.khatri_rao([A, B])
    assert ours.shape == theirs.shape == (20, 3)
    assert np.max(np.abs(ours - theirs)) <= 1e-14
    w = rng.uniform(0.5, 2.0, 3)
    cp = rl.CPDecomposition(w, (A, B, C), 0.0)
    ref = tl.cp_to_tensor((w, [A, B, C]))
    assert np.max(np.abs(cp.to_tensor() - ref)) <= 1e-14 * np.max(np.abs(ref))
    # the check can fail: another column order is detected
    assert np.max(np.abs(rl.khatri_rao(B, A) - theirs)) > 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cp_als_matches_tensorly_parafac_on_exact_low_rank_tensors(seed):
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import parafac

    rng = np.random.default_rng(seed)
    F = [rng.standard_normal((d, 3)) for d in (6, 5, 4)]
    T = np.einsum("ir,jr,kr->ijk", *F)
    ours = rl.cp_als(T, 3, rng=seed)
    # tol=0 runs every sweep: TensorLy's default stopping rule measures the error through
    # |T|^2 - 2<T, X> + |X|^2, which cannot go below about 1e-8.
    theirs = parafac(tl.tensor(T), 3, init="svd", n_iter_max=1000, tol=0.0)
    rec = tl.cp_to_tensor(theirs)
    norm = np.linalg.norm(T)
    assert ours.residual < 1e-8 and np.linalg.norm(rec - T) / norm < 1e-8
    assert np.linalg.norm(ours.to_tensor() - rec) / norm < 1e-8  # the same fit
    # and the same rank-one terms (CP is unique here, Kruskal): columns up to order and sign
    for mine, ref in zip(ours.factors, theirs.factors):
        cos = np.abs(_unit_columns(mine).T @ _unit_columns(np.asarray(ref)))
        assert np.all(np.abs(np.sort(cos.max(axis=1)) - 1.0) < 1e-8)


# ---------------------------------------------------------------------------
# Whitening, the tensor power method and the Jennrich perturbation bound
# ---------------------------------------------------------------------------
# (formerly tests/test_power_method.py: Tests of whitening, the tensor power method and the Jennrich perturbation bound.)
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


def test_bad_inputs_power():
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
