"""Tests of relulib.atv21: ATV21 Algorithms 1-3 and the sample pipeline with polishing."""

import warnings

import numpy as np
import pytest

import relulib as rl
from relulib.atv21 import _power_columns


def _network_with_roots(d, k, seed, bias_scale=1.5):
    """Random network whose first three biases sit at Hermite roots 0, +1, -1."""
    rng = np.random.default_rng(seed)
    net = rl.random_network(d, k, bias_scale=bias_scale, rng=rng)
    b = net.b.copy()
    b[:3] = [0.0, 1.0, -1.0]
    return rl.TwoLayerNetwork(net.U, net.V, b), rng


def _coefficients(net, ell):
    return [rl.hermite_coefficients(net, t) for t in range(2 * ell + 3)]


# --- Algorithm 2 -----------------------------------------------------------
@pytest.mark.parametrize("ell", [1, 2, 3])
def test_recover_scalars_consistent_index(ell):
    net, _ = _network_with_roots(4, 4, seed=ell)
    flips = np.array([1.0, -1.0, 1.0, -1.0])
    tensors = {j: rl.hermite_coefficients(net, j) for j in range(2, ell + 4)}
    est = rl.recover_scalars(flips[:, None] * net.V, tensors, ell)
    # read in the orientation of the given directions: (a, xi b)
    np.testing.assert_allclose(est.U[0], net.U[0], atol=1e-12)
    np.testing.assert_allclose(est.b, flips * net.b, atol=1e-12)


def test_printed_algorithm2_index_is_wrong_for_ell_2():
    """The printed Lemma 4.5 (He_q instead of He_{q-2}) does not return the bias."""
    net, _ = _network_with_roots(4, 4, seed=0)
    tensors = {j: rl.hermite_coefficients(net, j) for j in range(2, 6)}
    W = net.V
    zeta = {j: np.linalg.lstsq(_power_columns(W, j), tensors[j].ravel(), rcond=None)[0] for j in tensors}
    q = np.where(np.abs(zeta[3]) >= np.abs(zeta[4]), 3, 4)
    pick = lambda off: np.where(q == 3, zeta[3 + off], zeta[4 + off])  # noqa: E731
    printed = -(pick(1) + q * pick(-1)) / pick(0)
    consistent = -(pick(1) + (q - 2) * pick(-1)) / pick(0)
    np.testing.assert_allclose(consistent, net.b, atol=1e-12)
    assert np.max(np.abs(printed - net.b)) > 0.5


def test_recover_scalars_errors():
    with pytest.raises(ValueError, match="tensors: expected the Hermite tensor of order 3"):
        rl.recover_scalars(np.eye(3), {2: np.eye(3)})
    with pytest.raises(ValueError, match=r"tensors\[2\]: expected shape"):
        rl.recover_scalars(np.eye(3), {2: np.eye(4), 3: np.zeros((3, 3, 3))})
    with pytest.raises(ValueError, match="directions: expected non-zero rows"):
        rl.recover_scalars(np.zeros((2, 3)), {2: np.eye(3), 3: np.zeros((3, 3, 3))})


# --- Algorithm 3 -----------------------------------------------------------
def test_fix_signs_recovers_every_sign_pattern():
    net, _ = _network_with_roots(6, 5, seed=3)
    f1 = rl.hermite_coefficients(net, 1)
    for pattern in range(2**5):
        xi = np.array([1.0 if (pattern >> i) & 1 else -1.0 for i in range(5)])
        flipped = rl.TwoLayerNetwork(net.U, xi[:, None] * net.V, xi * net.b)
        fixed = rl.fix_signs(flipped, f1)
        np.testing.assert_allclose(fixed.V, net.V, atol=1e-13)
        np.testing.assert_allclose(fixed.b, net.b, atol=1e-13)


def test_fix_signs_errors():
    net = rl.random_network(3, 4, rng=0)
    with pytest.raises(ValueError, match="k <= d"):
        rl.fix_signs(net, np.zeros(3))
    with pytest.raises(ValueError, match=r"f1: expected shape \(3\)"):
        rl.fix_signs(rl.random_network(3, 2, rng=0), np.zeros(4))


# --- Algorithm 1, population (Theorems 4.1 and 4.2) -----------------------
@pytest.mark.parametrize("seed", range(5))
def test_population_recovery_ell1_to_1e_12(seed):
    net, _ = _network_with_roots(8, 6, seed)
    res = rl.recover_from_coefficients(_coefficients(net, 1), rng=seed)
    assert res.signs_fixed
    assert rl.parameter_error(net, res.network) < 1e-12
    # b = 0 vanishes from f_3 (He_1), b = +-1 from f_4 (He_2): each order misses units
    assert (res.rank_odd, res.rank_even) == (5, 4)


def test_population_recovery_ell2_up_to_sign():
    net, _ = _network_with_roots(5, 8, seed=7)  # m = 8 > d = 5: overcomplete
    res = rl.recover_from_coefficients(_coefficients(net, 2), ell=2, rng=0)
    assert not res.signs_fixed
    assert rl.parameter_error(net, res.network, up_to_sign=True) < 1e-10
    assert res.network.k == 8
    # b = 0 is a root of He_3 (f_5); He_4 has no root in {0, +-1}
    assert (res.rank_odd, res.rank_even) == (7, 8)


def test_recover_from_coefficients_errors():
    net = rl.random_network(3, 2, rng=0)
    f = _coefficients(net, 1)
    with pytest.raises(ValueError, match="coefficients: expected the tensors f_0, ..., f_4"):
        rl.recover_from_coefficients(f[:4])
    bad = list(f)
    bad[3] = np.full((3, 3, 3), np.nan)
    with pytest.raises(ValueError, match=r"coefficients\[3\]: expected finite values"):
        rl.recover_from_coefficients(bad)
    with pytest.raises(ValueError, match="no rank-one terms"):
        rl.recover_from_coefficients([np.zeros((3,) * t) for t in range(5)])


# --- samples ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(20))
def test_recover_with_bias_exact_on_noiseless_samples(seed):
    """d = 10, k = 5, biases in [-1.5, 1.5] with roots 0 and +-1: exact to 1e-9."""
    net, rng = _network_with_roots(10, 5, seed)
    X, Y = rl.gaussian_samples(net, 200_000, rng=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.CertificateWarning)
        result = rl.recover_with_bias(X, Y, 5, rng=rng)
    assert rl.parameter_error(net, result.network) < 1e-9
    assert result.certified and result.residual <= 1e-10 and 1 <= result.iterations <= 5


def test_recover_with_bias_warns_on_noisy_labels():
    net, rng = _network_with_roots(5, 3, seed=1)
    X, Y = rl.gaussian_samples(net, 20_000, noise=0.1, rng=rng)
    with pytest.warns(rl.CertificateWarning, match="held-out relative residual") as caught:
        result = rl.recover_with_bias(X, Y, 3, rng=rng, n_trials=1)
    assert not result.certified and result.iterations == 1
    # the warning states the measured residual, the one the result carries
    assert f"{result.residual:.3e}" in str(caught[0].message)


def test_projected_moments_equal_the_full_hermite_tensors_of_the_residualised_projection():
    from relulib.atv21 import _projected_moments

    rng = np.random.default_rng(3)
    X = rng.standard_normal((3000, 7))
    r = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] ** 2
    P = np.linalg.qr(rng.standard_normal((7, 4)))[0]
    Z = X @ P
    T2, T3, T4 = _projected_moments(X, r, P, 1000)  # three chunks
    assert T3.shape == (4,) * 3 and T4.shape == (4,) * 4
    assert np.allclose(T2, rl.empirical_hermite_tensor(Z, r, 2), rtol=0, atol=1e-12)
    # T_3 and T_4 (one Gram) from r minus its degree-2 part
    q2 = np.einsum("ni,ij,nj->n", Z, T2, Z) - np.trace(T2)
    r3 = r - q2 / 2
    assert np.allclose(T3, rl.empirical_hermite_tensor(Z, r3, 3), rtol=0, atol=1e-12)
    assert np.allclose(T4, rl.empirical_hermite_tensor(Z, r3, 4), rtol=0, atol=1e-12)


def test_residualised_moments_are_closer_to_the_population_tensors():
    """Removing the estimated degree-2 part of the labels keeps E[r He_j] and cuts the noise
    of T_3 and T_4 (on five draws: T_4's error 0.49-0.68 of the plain estimate's, T_3's
    0.42-0.93). Removing the estimated degree-3 part too, a fourth pass, is not reliably
    better for T_4: 24% better on one draw, 50% worse on another, as the noise of the
    estimated T_3 comes back in."""
    from relulib.atv21 import _hermite2_form, _projected_moments

    versus_fourth_pass = []
    for seed in range(5, 10):
        net = rl.random_network(12, 4, bias_scale=1.0, rng=seed)
        X, Y = rl.gaussian_samples(net, 100_000, rng=seed + 1)
        Q = np.linalg.qr(net.V.T)[0]  # the exact span: compare in its coordinates
        netQ = rl.TwoLayerNetwork(net.U, net.V @ Q, net.b)
        f = [np.asarray(rl.hermite_coefficients(netQ, t)).reshape((4,) * t) for t in range(5)]
        r = Y[:, 0] - f[0] - X @ (Q @ f[1])
        Z = X @ Q
        T2, T3, T4 = _projected_moments(X, r, Q, 30_000)

        def error(T, j):
            return np.linalg.norm(T - f[j]) / np.linalg.norm(f[j])

        assert error(T3, 3) < 0.95 * error(rl.empirical_hermite_tensor(Z, r, 3), 3)
        assert error(T4, 4) < 0.7 * error(rl.empirical_hermite_tensor(Z, r, 4), 4)
        # the fourth pass the stage does not make: T_4 of r3 - <T_3, He_3(z)> / 6
        r3 = r - _hermite2_form(Z, T2) / 2
        r4 = r3 - np.einsum("ijl,nijl->n", T3, rl.hermite_tensor(Z, 3)) / 6
        versus_fourth_pass.append(error(T4, 4) / error(rl.empirical_hermite_tensor(Z, r4, 4), 4))
    assert min(versus_fourth_pass) < 0.7 and 1.2 < max(versus_fourth_pass) < 1.4
    # the reconstructions appendix: the fourth pass is a loss on two of the five draws
    assert sum(ratio < 1 for ratio in versus_fourth_pass) == 2


def test_direction_selection_matches_explicit_least_squares():
    """The greedy step 4 works on Gram matrices (u.v)^j; its objective is the explicit
    least-squares residual against the k^j entries, and it keeps the true directions."""
    from relulib.atv21 import _select_directions

    rng = np.random.default_rng(11)
    k = 5
    W = rng.standard_normal((k, k))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    tensors = {j: (_power_columns(W, j) @ rng.uniform(0.5, 1.5, k)).reshape((k,) * j) for j in (2, 3, 4)}
    noise = rng.standard_normal((4, k))
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    # candidates: the truth shuffled, a duplicate of one true direction, and noise directions
    candidates = np.vstack([W[::-1], W[:1] * (1 + 1e-9), noise])
    chosen = _select_directions(candidates, k, tensors)
    assert np.allclose(np.abs(chosen @ W.T).max(axis=0), 1.0)

    def explicit(U):  # the objective with the k^j x |S| matrices formed
        total = 0.0
        for j, T in tensors.items():
            A, t = _power_columns(U, j), T.reshape(-1)
            total += np.linalg.norm(t - A @ np.linalg.lstsq(A, t, rcond=None)[0]) / np.linalg.norm(t)
        return total

    # on sets of noise and true directions (no exact fit) the two agree, and the greedy
    # first pick is the candidate with the smallest explicit residual
    picks = [candidates[[i]] for i in range(candidates.shape[0])]
    first = _select_directions(candidates, 1, tensors)
    assert np.isclose(explicit(first), min(explicit(u) for u in picks), rtol=1e-10)
    mixed = np.vstack([noise, W[:2]])
    order = _select_directions(mixed, mixed.shape[0], tensors)
    assert explicit(order) == pytest.approx(explicit(mixed), rel=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_span_comes_from_the_residualised_second_moment(seed):
    """P is the top-k eigenspace of T_2 of r = y - T_0 - x.T_1: the same span in
    expectation as the labels' own T_2, with much less noise."""
    d, k, n = 20, 6, 20_000
    net = rl.random_network(d, k, bias_scale=1.0, rng=seed)
    X, Y = rl.gaussian_samples(net, n, rng=100 + seed)
    y = Y[:, 0]
    Q = np.linalg.qr(net.V.T)[0]

    def largest_angle(P):  # degrees between span(P) and the span of the w_i
        return np.degrees(np.arccos(min(1.0, np.linalg.svd(P.T @ Q, compute_uv=False).min())))

    def top_k(T2):
        w, V = np.linalg.eigh(T2)
        return V[:, np.argsort(-np.abs(w))[:k]]

    mom = rl.projected_moments(X, Y, k)
    r = y - y.mean() - X @ (X.T @ y / n)
    T2r = (X * r[:, None]).T @ X / n - r.mean() * np.eye(d)
    assert np.allclose(mom.P @ mom.P.T, top_k(T2r) @ top_k(T2r).T, atol=1e-8)
    assert np.allclose(mom.T2p, mom.P.T @ T2r @ mom.P, atol=1e-12)
    raw = (X * y[:, None]).T @ X / n - y.mean() * np.eye(d)
    assert largest_angle(mom.P) < 0.7 * largest_angle(top_k(raw))
    assert largest_angle(mom.P) < 20.0


def test_moment_estimate_is_rough_but_close():
    net, rng = _network_with_roots(6, 3, seed=2)
    X, Y = rl.gaussian_samples(net, 200_000, rng=rng)
    est = rl.moment_estimate(X, Y, 3, rng=rng)
    perm, _ = rl.match_units(net, est)
    cos = np.abs(np.sum(net.V * est.normalized().V[perm], axis=1))
    assert np.all(cos > 0.9)  # directions are found; scalars are only rough


def test_recover_with_bias_errors():
    X = np.random.default_rng(0).standard_normal((2000, 3))
    y = X[:, 0]
    with pytest.raises(ValueError, match="k: the full-rank .* k <= d"):
        rl.recover_with_bias(X, y, 4)
    with pytest.raises(ValueError, match="Y: expected 2000 labels"):
        rl.recover_with_bias(X, y[:-1], 2)
    bad = X.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="X: expected finite values"):
        rl.recover_with_bias(bad, y, 2)
    ybad = y.copy()
    ybad[3] = np.nan
    with pytest.raises(ValueError, match="Y: expected finite values"):
        rl.recover_with_bias(X, ybad, 2)
    with pytest.raises(ValueError, match="Y: expected a single output"):
        rl.recover_with_bias(X, np.c_[y, y], 2)
    with pytest.raises(ValueError, match="X: expected at least"):
        rl.recover_with_bias(X[:100], y[:100], 2)
    with pytest.raises(ValueError, match="holdout"):
        rl.recover_with_bias(X, y, 2, holdout=1.5)
    with pytest.raises(ValueError, match="n_trials: expected a positive integer"):
        rl.recover_with_bias(X, y, 2, n_trials=0)


# --- large biases ----------------------------------------------------------
def test_large_bias_surrogate_error_is_the_closed_form():
    """One large unit on each side, orthogonal directions: the L2 errors add up exactly."""
    net = rl.TwoLayerNetwork([[1.0, 2.0, -1.5]], np.eye(3), [0.5, 3.5, -3.2])
    g = rl.large_bias_surrogate(net)
    assert g.k == 3  # one small unit + 2
    X = np.random.default_rng(0).standard_normal((1_000_000, 3))
    diff2 = (net.predict(X) - g.predict(X))[:, 0] ** 2
    expected = 4 * rl.relu_tail_l2(3.5) + 2.25 * rl.relu_tail_l2(3.2)
    assert abs(diff2.mean() - expected) < 5 * diff2.std() / np.sqrt(diff2.size)
    # affine part cancels exactly on samples where the large units are in their linear regime
    small = rl.TwoLayerNetwork([[1.0]], [[1.0, 0.0, 0.0]], [0.5])
    with pytest.raises(ValueError, match="threshold"):
        rl.large_bias_surrogate(small, threshold=0.0)


def test_large_bias_surrogate_constant_only():
    net = rl.TwoLayerNetwork([[1.0, -1.0]], [[1.0, 0.0], [1.0, 0.0]], [4.0, 3.0])
    g = rl.large_bias_surrogate(net)  # 1 (x1 + 4) - (x1 + 3) = 1
    X = np.random.default_rng(1).uniform(-5, 5, (100, 2))
    np.testing.assert_allclose(g.predict(X)[:, 0], 1.0, atol=1e-12)


# --- the public tensor stage ------------------------------------------------
def test_moment_estimate_is_projected_moments_then_tensor_stage():
    net, rng = _network_with_roots(6, 3, seed=2)
    X, Y = rl.gaussian_samples(net, 30_000, rng=rng)
    moments = rl.projected_moments(X, Y, 3)
    assert isinstance(moments, rl.ProjectedMoments)
    assert moments.P.shape == (6, 3) and moments.T3p.shape == (3, 3, 3)
    assert np.allclose(moments.P.T @ moments.P, np.eye(3), atol=1e-12)
    staged = rl.tensor_stage(moments, rng=5)
    direct = rl.moment_estimate(X, Y, 3, rng=5)
    assert np.array_equal(staged.V, direct.V) and np.array_equal(staged.b, direct.b)


def test_tensor_stage_restart_schedule_and_errors():
    net, rng = _network_with_roots(6, 3, seed=3)
    X, Y = rl.gaussian_samples(net, 30_000, rng=rng)
    moments = rl.projected_moments(X, Y, 3)
    # attempt 5 starts the schedule again: same orders as attempt 0, same draws for the same rng
    first = rl.tensor_stage(moments, attempt=0, rng=7)
    again = rl.tensor_stage(moments, attempt=5, rng=7)
    assert np.array_equal(first.V, again.V)
    # attempt 1 uses order 3 alone, attempt 2 order 4 alone (noisier at this n): other estimates
    assert rl.parameter_error(net, rl.tensor_stage(moments, attempt=1, rng=7)) < 0.5
    assert not np.array_equal(first.V, rl.tensor_stage(moments, attempt=2, rng=7).V)
    with pytest.raises(TypeError, match="moments: expected a ProjectedMoments"):
        rl.tensor_stage((X, Y), rng=0)
    with pytest.raises(ValueError, match="attempt: expected a non-negative integer"):
        rl.tensor_stage(moments, attempt=-1)
    with pytest.raises(ValueError, match="Y: expected a single output"):
        rl.projected_moments(X, np.c_[Y, Y], 3)


def test_projected_moments_on_rows_equal_those_of_their_copy_bit_for_bit():
    net = rl.random_network(6, 3, bias_scale=1.0, rng=0)
    X, y = rl.gaussian_samples(net, 5000, rng=1)
    rows = np.random.default_rng(2).permutation(5000)[:3500]
    a = rl.projected_moments(X, y, 3, rows=rows, chunk_size=1000)  # four chunks
    b = rl.projected_moments(X[rows], y[rows], 3, chunk_size=1000)
    for name in ("T1", "P", "T2p", "T3p", "T4p"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    with pytest.raises(ValueError, match="rows: expected a non-empty array of row indices"):
        rl.projected_moments(X, y, 3, rows=[-1])


def test_moment_fit_residual_of_moment_estimate():
    """The fit residual falls like n^{-1/2} for the estimate (averaged over three draws: one
    draw's residual varies by a factor of two), the truth fits the sample moments about
    as well, and unrelated directions fit them much worse."""
    net = rl.random_network(6, 3, bias_scale=1.0, rng=0)
    res = {}
    for n in (20_000, 320_000):
        fits = []
        for draw in (1, 2, 3):
            X, Y = rl.gaussian_samples(net, n, rng=draw)
            mom = rl.projected_moments(X, Y, 3)
            est = rl.moment_fit_residual(rl.moment_estimate(X, Y, 3, rng=2), mom)
            fits.append((est, rl.moment_fit_residual(net, mom)))
            assert rl.moment_fit_residual(rl.random_network(6, 3, rng=5), mom) > 3 * est
        res[n], truth = np.mean(fits, axis=0)
        assert truth <= 1.5 * res[n]  # the truth fits its own moments about as well
    assert 0 < res[320_000] < res[20_000] / 2  # 16x the samples: about 4x smaller
    with pytest.raises(TypeError, match="^moments:"):
        rl.moment_fit_residual(net, {"T2p": 0})
    with pytest.raises(ValueError, match="^net:"):
        rl.moment_fit_residual(rl.random_network(5, 3, rng=0), mom)
def test_recover_with_bias_on_noisy_labels_uses_all_training_samples():
    """Polishing runs on a subsample; with noise the final refinement uses every training sample."""
    net = rl.random_network(5, 2, bias_scale=1.0, rng=11)
    X, Y = rl.gaussian_samples(net, 60_000, noise=0.1, rng=12)
    with pytest.warns(rl.CertificateWarning, match="recover_noisy") as caught:
        result = rl.recover_with_bias(X, Y, 2, rng=13, max_polish_samples=2000)
    assert not result.certified and "all 48000 training samples" in str(caught[0].message)
    err = rl.parameter_error(net, result.network)
    oracle = rl.parameter_error(net, rl.refine_by_patterns(net, X, Y, max_iter=10).network)
    # the statistical accuracy of all samples, not that of the 2000-sample polishing subsample
    sub = rl.parameter_error(net, rl.refine_by_patterns(net, X[:2000], Y[:2000], max_iter=10).network)
    assert err < 2 * oracle < sub
