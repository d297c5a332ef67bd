"""Tests of relulib.bjw19: BJW19 exact and noisy recovery (ALGORITHMS.md, "BJW19")."""

import warnings

import numpy as np
import pytest

import relulib as rl
from relulib.bjw19 import (
    activation_hermite_coefficient,
    approximate_directions,
    recover_exact,
    recover_noisy,
)


@pytest.mark.parametrize("seed", range(20))
def test_exact_recovery_twenty_instances(seed):
    # Done-when: d = 20, k = 6, m = 8, n <= 5e4, error <= 1e-9 for every instance.
    net = rl.random_network(20, 6, m=8, rng=seed)
    X, Y = rl.gaussian_samples(net, 10_000, rng=1000 + seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.CertificateWarning)
        result = recover_exact(X, Y, 6, rng=seed)
    assert isinstance(result, rl.RecoveryResult)
    assert rl.parameter_error(net, result.network) <= 1e-9
    assert result.certified and result.tolerance == rl.CERTIFICATE_TOL
    assert result.residual == rl.relative_residual(result.network, X, Y) <= 1e-12
    assert 1 <= result.iterations <= 4


@pytest.mark.parametrize("activation", ["squared_relu", "rectified_tanh"])
def test_exact_recovery_other_rectified_activations(planted, activation):
    net, X, Y = planted(10, 4, m=5, activation=activation, n=5000, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.CertificateWarning)
        est = recover_exact(X, Y, 4, activation=activation, rng=5).network
    assert rl.parameter_error(net, est) <= 1e-9


def test_custom_activation_with_inverse(planted):
    cube = rl.Activation("cubed_relu", lambda t: np.maximum(t, 0.0) ** 3, inverse=np.cbrt, degree=3.0)
    net, X, Y = planted(8, 3, m=4, activation=cube, n=3000, seed=0)
    assert rl.parameter_error(net, recover_exact(X, Y, 3, activation=cube, rng=2).network) <= 1e-9


def test_relu_hermite_coefficients():
    assert activation_hermite_coefficient("relu", 1) == pytest.approx(0.5, abs=1e-12)
    assert activation_hermite_coefficient("relu", 2) == pytest.approx(1 / np.sqrt(2 * np.pi), abs=1e-12)
    # E[relu(z)^2 (z^2 - 1)] = (3 - 1) / 2
    assert activation_hermite_coefficient("squared_relu", 2) == pytest.approx(1.0, abs=1e-10)


def test_approximate_directions_close_up_to_sign(planted):
    net, X, Y = planted(10, 3, m=4, n=20_000, seed=7)
    V = approximate_directions(X, Y, 3, rng=9)
    cos = np.abs(V @ net.V.T)
    assert np.all(np.max(cos, axis=1) > 0.95)


def test_certificate_warns_with_residual_on_noisy_labels(planted):
    net, X, Y = planted(6, 3, m=3, n=3000, seed=0)
    E = np.zeros_like(Y)
    E[:, :] = 1e-6 * np.random.default_rng(2).standard_normal((3000, 3))
    with pytest.warns(rl.CertificateWarning, match="relative residual"):
        recover_exact(X, Y + E, 3, rng=3)


def test_rank_deficient_U_names_fpt(planted):
    net, X, Y = planted(8, 4, m=2, n=2000, seed=0)  # m < k
    with pytest.raises(ValueError, match="recover_fpt"):
        recover_exact(X, Y, 4)
    U = np.ones((5, 3))  # m >= k but rank one
    net = rl.TwoLayerNetwork(U, rl.random_network(8, 3, rng=2).V)
    X, Y = rl.gaussian_samples(net, 2000, rng=3)
    with pytest.raises(ValueError, match="rank deficient.*recover_fpt"):
        recover_exact(X, Y, 3)


def test_noisy_labels_rank_names_recover_noisy(planted):
    net, X, Y = planted(8, 2, m=4, n=2000, noise=0.1, seed=0)
    with pytest.raises(ValueError, match="recover_noisy"):
        recover_exact(X, Y, 2)


def test_bad_inputs(planted):
    net, X, Y = planted(5, 2, m=3, n=1000, seed=0)
    with pytest.raises(ValueError, match="k: expected at most d=5"):
        recover_exact(X, Y, 6)
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        recover_exact(X, Y, 0)
    with pytest.raises(ValueError, match="Y: expected 1000 labels"):
        recover_exact(X, Y[:-1], 2)
    with pytest.raises(ValueError, match="X: expected a 2-D array"):
        recover_exact(X[0], Y, 2)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X: expected finite values"):
        recover_exact(Xn, Y, 2)
    with pytest.raises(ValueError, match="X: expected at least 10 d k = 100 samples"):
        recover_exact(X[:50], Y[:50], 2)
    with pytest.raises(ValueError, match="activation: the exact step needs"):
        recover_exact(X, Y, 2, activation=lambda t: np.maximum(t, 0.0))
    with pytest.raises(ValueError, match="k: expected at most d=5"):
        recover_noisy(X, Y, 6)


def test_noisy_error_slope():
    # BJW19 step 5: the error falls like n^(-1/2); fitted slope within [-0.65, -0.35].
    net = rl.random_network(5, 2, m=3, rng=3)
    ns = np.array([1000, 2000, 4000, 8000, 16000, 32000])
    errs = []
    for n in ns:
        e = [
            rl.parameter_error(net, recover_noisy(*rl.gaussian_samples(net, int(n), noise=0.3, rng=rep * 7 + int(n)), 2, n_trials=1, rng=rep).network)
            for rep in range(3)
        ]
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert -0.65 <= slope <= -0.35, (slope, errs)


def test_noisy_close_to_oracle(planted):
    net, X, Y = planted(8, 3, m=4, n=10_000, noise=0.5, seed=5)
    est = recover_noisy(X, Y, 3, n_trials=1, rng=7).network
    oracle = rl.refine_by_patterns(net, X, Y, bias=False, max_iter=1).network
    ratio = rl.parameter_error(net, est) / rl.parameter_error(net, oracle)
    assert 0.8 < ratio < 1.25


def test_noisy_without_noise_is_exact(planted):
    net, X, Y = planted(8, 3, m=4, n=4000, seed=1)
    result = recover_noisy(X, Y, 3, rng=3)
    assert rl.parameter_error(net, result.network) < 1e-9
    assert result.certified and result.residual <= 1e-12 and result.iterations == 3  # n_trials


def test_noisy_single_output_uses_fourth_order(planted):
    net, X, Y = planted(5, 2, m=1, n=40_000, noise=0.05, seed=11)
    assert rl.parameter_error(net, recover_noisy(X, Y, 2, rng=13).network) < 0.1


def test_noisy_with_bias_uses_atv21_initialisation(planted):
    net, X, Y = planted(6, 3, m=1, bias_scale=1.0, n=10_000, noise=0.1, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = recover_noisy(X, Y, 3, bias=True, n_trials=1, rng=2)
    assert rl.parameter_error(net, result.network) < 0.05
    # with noise of standard deviation 0.1 the residual is about the noise level: not certified
    assert not result.certified and 0.01 < result.residual < 1


@pytest.mark.parametrize("seed", [0, 3])
def test_noisy_with_bias_escapes_a_local_fit(planted, seed):
    """(d, k) = (30, 8), n = 1e4, noise 0.1: the tensor stage's starts are rough, and three
    of them refined on all samples ended in a local fit (parameter error 2.3 and 1.7, the
    oracle's 0.024 and 0.031); sixteen starts screened on a subsample, the smallest residual
    refined on all samples, reach the oracle's error."""
    net, X, Y = planted(30, 8, m=1, bias_scale=1.0, n=10_000, noise=0.1, seed=seed)
    oracle = rl.refine_by_patterns(net, X, Y, bias=True, max_iter=10).network
    result = recover_noisy(X, Y, 8, bias=True, rng=seed)
    assert rl.parameter_error(net, result.network) <= 2 * rl.parameter_error(net, oracle)
    assert result.iterations == 16  # the default n_trials with bias=True


def test_noisy_screening_keeps_at_least_10dk_samples(planted):
    """``screen_samples`` below 10 d k is raised to 10 d k; at or above n there is no screening."""
    net, X, Y = planted(6, 3, m=1, bias_scale=1.0, n=4000, noise=0.1, seed=0)
    whole = recover_noisy(X, Y, 3, bias=True, n_trials=2, rng=5, screen_samples=4000)
    again = recover_noisy(X, Y, 3, bias=True, n_trials=2, rng=5, screen_samples=10**9)
    for a, b in ((whole.network.U, again.network.U), (whole.network.V, again.network.V),
                 (whole.network.b, again.network.b)):
        assert np.array_equal(a, b)  # no subsample drawn: the same draws, the same fit
    small = recover_noisy(X, Y, 3, bias=True, n_trials=2, rng=5, screen_samples=1)
    assert rl.parameter_error(net, small.network) < 0.2
    for bad, exc in ((0, ValueError), (2.5, TypeError), ("100", TypeError)):
        with pytest.raises(exc, match="^screen_samples: expected a positive integer"):
            recover_noisy(X, Y, 3, bias=True, screen_samples=bad)


def test_null_space_step_is_biased_under_noise(planted):
    net, X, Y = planted(6, 3, m=4, n=8000, noise=0.3, seed=3)
    e_null = rl.parameter_error(net, rl.recover_null_space(X, Y, 3, rng=1))
    e_ls = rl.parameter_error(net, recover_noisy(X, Y, 3, n_trials=1, rng=1).network)
    assert e_null > 5 * e_ls


def test_recover_noisy_residual_is_measured_on_held_out_samples():
    """``.residual`` is |Y - f~(X)| / |Y| on the held-out fraction, not on the fitting samples."""
    net = rl.random_network(6, 3, m=3, rng=0)
    X, Y = rl.gaussian_samples(net, 20_000, noise=0.3, rng=1)
    result = recover_noisy(X, Y, 3, n_trials=1, rng=2, holdout=0.25)
    # Recompute it: the same rng draws the split first.
    perm = np.random.default_rng(2).permutation(len(X))
    hold = perm[:5000]
    assert result.residual == rl.relative_residual(result.network, X[hold], Y[hold])
    train = perm[5000:]
    in_sample = rl.relative_residual(result.network, X[train], Y[train])
    assert result.residual != in_sample
    # About the noise level relative to the labels: sigma / rms(Y).
    expected = 0.3 / np.sqrt(np.mean(Y**2))
    assert abs(result.residual - expected) < 0.1 * expected
    # By default (holdout=None) the fit uses every sample and the residual is in-sample.
    full = recover_noisy(X, Y, 3, n_trials=1, rng=2)
    assert full.residual == rl.relative_residual(full.network, X, Y)
    # Noiseless labels: the held-out residual is at rounding level and certifies.
    Xc, Yc = rl.gaussian_samples(net, 5000, rng=3)
    clean = recover_noisy(Xc, Yc, 3, rng=4, holdout=0.2)
    assert clean.certified and clean.residual < 1e-10


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, float("nan"), "0.2"])
def test_recover_noisy_holdout_is_validated(bad):
    net = rl.random_network(4, 2, m=2, rng=0)
    X, Y = rl.gaussian_samples(net, 2000, rng=1)
    with pytest.raises((TypeError, ValueError), match="^holdout:"):
        recover_noisy(X, Y, 2, holdout=bad)


def test_recover_noisy_needs_10dk_training_samples():
    net = rl.random_network(4, 2, m=2, rng=0)
    X, Y = rl.gaussian_samples(net, 100, rng=1)  # 10 d k = 80 samples, 80 % of 100 = 80
    with warnings.catch_warnings():  # so few samples may leave units undetermined
        warnings.simplefilter("ignore", rl.IdentifiabilityWarning)
        recover_noisy(X, Y, 2, n_trials=1, rng=0, holdout=0.2)
    with pytest.raises(ValueError, match="^holdout: .*training samples"):
        recover_noisy(X[:90], Y[:90], 2, n_trials=1, rng=0, holdout=0.2)
# --- the fast exact path: subsample, projected moments, deflation, zero-set choice ------------
from relulib.decomposition import slice_als  # noqa: E402
from relulib.bjw19 import (  # noqa: E402  (private steps of recover_exact, tested directly)
    _deflated_directions,
    _projected_moments,
    _zero_set_with_one_null_vector,
)


def test_projected_moments_equal_the_projected_centred_second_moment():
    net = rl.random_network(12, 4, m=5, rng=0)
    X, Y = rl.gaussian_samples(net, 30_000, rng=1)
    P, S = _projected_moments(X, Y, 4)
    assert P.shape == (12, 4) and S.shape == (5, 4, 4)
    assert np.allclose(P.T @ P, np.eye(4), atol=1e-12)
    # the blocked product of the k(k+1)/2 monomials equals the plain estimator
    Yc = Y - Y.mean(axis=0)
    Z = X @ P
    direct = np.einsum("sr,sa,sb->rab", Yc, Z, Z) / X.shape[0]
    assert np.max(np.abs(S - direct)) <= 1e-12 * np.max(np.abs(direct))
    # T_1 spans the rows of V*: small principal angle at this n
    assert rl.principal_angle_sine(P, net.V.T) < 0.1


def test_als_sweeps_reach_the_exact_factors_from_a_perturbed_start():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 6))
    A /= np.linalg.norm(A, axis=0)
    C = rng.standard_normal((7, 6))
    S = np.einsum("ai,ri,bi->rab", A, C, A)
    start = A + 0.05 * rng.standard_normal(A.shape)
    start /= np.linalg.norm(start, axis=0)

    def error(F):
        return float(np.max(1 - np.abs(np.sum(F * A, axis=0))))

    # the ten sweeps recover_exact uses improve the start; run long, ALS reaches the factors
    assert error(slice_als(S, start, 10)) < error(start) / 5
    assert error(slice_als(S, start, 300)) < 1e-10


def test_deflated_directions_return_the_units_not_yet_known():
    net = rl.random_network(15, 5, m=5, rng=3)
    X, Y = rl.gaussian_samples(net, 50_000, rng=4)
    moments = _projected_moments(X, Y, 5)
    known = [net.V[0], net.V[3]]
    D = _deflated_directions(*moments, known, np.random.default_rng(5))
    assert D.shape == (3, 15)
    cos = np.abs(D @ net.V.T)  # (3, 5)
    assert np.all(cos[:, [0, 3]] < 0.9)  # none of them is a known unit
    assert np.all(np.max(cos[:, [1, 2, 4]], axis=0) > 0.98)  # each other unit is found


def test_zero_set_is_widened_when_two_units_vanish_on_it():
    # two units at cosine 0.95: on the tenth of the samples most negative for the first,
    # the second is inactive too (two null vectors); a wider set separates them
    rng = np.random.default_rng(6)
    V = np.eye(4)[:3].copy()
    V[1] = 0.95 * V[0] + np.sqrt(1 - 0.95**2) * np.eye(4)[3]
    net = rl.TwoLayerNetwork(rng.uniform(0.5, 1.5, (3, 3)), V)
    X, Y = rl.gaussian_samples(net, 5000, rng=7)
    basis = np.linalg.svd(Y, full_matrices=False)[0][:, :3]
    pr = X @ V[0]
    tenth = np.argpartition(pr, 499)[:500]
    s = np.linalg.svd(basis[tenth], compute_uv=False)
    assert np.sum(s <= 1e-9 * s[0]) == 2  # the failure the widening repairs
    rows = _zero_set_with_one_null_vector(basis, pr, tenth, 3)
    s = np.linalg.svd(basis[rows], compute_uv=False)
    assert rows.size > 500 and np.sum(s <= 1e-9 * s[0]) == 1
    v = rl.zero_pattern_unit(X, basis, V[0], "relu", quantile=rows.size / 5000)
    assert v is not None and abs(v @ V[0]) > 1 - 1e-12


def test_recover_exact_does_not_depend_on_the_order_of_the_samples():
    # the subsample is random, so samples sorted by a label still give the exact answer
    net = rl.random_network(20, 6, m=6, rng=8)
    X, Y = rl.gaussian_samples(net, 60_000, rng=9)
    order = np.argsort(Y[:, 0])
    result = recover_exact(X[order], Y[order], 6, rng=10)
    assert result.certified and rl.parameter_error(net, result.network) <= 1e-9


@pytest.mark.parametrize("d, k, n", [(50, 10, 200_000)])
def test_exact_recovery_on_a_subsample_certified_on_all_samples(d, k, n):
    net = rl.random_network(d, k, m=k, rng=11)
    X, Y = rl.gaussian_samples(net, n, rng=12)
    result = recover_exact(X, Y, k, rng=13)
    assert rl.parameter_error(net, result.network) <= 1e-9
    assert result.residual == rl.relative_residual(result.network, X, Y) <= 1e-12


def test_recover_exact_restarts_after_a_failed_certificate(monkeypatch):
    """Step 5: an attempt whose certificate fails is followed by a fresh one (at most n_trials)."""
    import relulib.bjw19 as bjw19

    net = rl.random_network(6, 3, m=4, rng=0)
    X, Y = rl.gaussian_samples(net, 2000, rng=1)
    real, calls = bjw19._exact_attempt, []

    def first_attempt_wrong(*args):
        calls.append(1)
        found, rounds = real(*args)
        if len(calls) == 1:  # spoil the first attempt: one unit off
            V = found.V.copy()
            V[0] = V[0] + 0.1
            found = rl.TwoLayerNetwork(found.U, V)
        return found, rounds

    monkeypatch.setattr(bjw19, "_exact_attempt", first_attempt_wrong)
    result = recover_exact(X, Y, 3, rng=2)
    assert len(calls) == 2 and result.certified and rl.parameter_error(net, result.network) < 1e-10
    calls.clear()
    with pytest.warns(rl.CertificateWarning, match="certificate failed"):
        single = recover_exact(X, Y, 3, rng=2, n_trials=1)
    assert len(calls) == 1 and not single.certified
