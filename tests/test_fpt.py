"""Tests of relulib.fpt: BJW19 FPT recovery and CKM20 filtered PCA (reconstructed)."""

import numpy as np
import pytest

import relulib as rl
from relulib.fpt import (
    blind_depth3_network,
    filtered_pca,
    principal_angle_sine,
    recover_fpt,
    span_from_moments,
)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_fpt_single_output_exact(k):
    # Done-when: FPT recovery for m = 1, k <= 4 (U* of rank one, recover_exact refuses it).
    net = rl.random_network(10, k, m=1, rng=k)
    X, Y = rl.gaussian_samples(net, 20_000, rng=10 + k)
    res = recover_fpt(X, Y, k, rng=20 + k)
    assert rl.parameter_error(net, res.network) < 1e-9
    assert res.residual < 1e-10 and res.certified and res.span.shape == (10, k)


def test_fpt_m_less_than_k(planted):
    net, X, Y = planted(10, 4, m=2, n=20_000, seed=0)
    with pytest.raises(ValueError, match="recover_fpt"):
        rl.recover_exact(X, Y, 4)
    assert rl.parameter_error(net, recover_fpt(X, Y, 4, rng=2).network) < 1e-9


def test_fpt_full_cost_counts_every_candidate(planted):
    net, X, Y = planted(6, 2, m=1, n=5000, seed=0)
    res = recover_fpt(X, Y, 2, n_candidates=7, early_stop=False, rng=2)
    assert res.iterations == 7  # candidates refined
    assert rl.parameter_error(net, res.network) < 1e-9
    # every candidate runs at least one and at most 15 pattern least-squares iterations,
    # and the count is reproducible for a seeded rng
    assert 7 <= res.search_iterations <= 7 * 15
    again = recover_fpt(X, Y, 2, n_candidates=7, early_stop=False, rng=2)
    assert again.search_iterations == res.search_iterations
    # early stop on noiseless data: fewer candidates, fewer iterations
    early = recover_fpt(X, Y, 2, n_candidates=7, rng=2)
    assert early.search_iterations <= res.search_iterations


def test_fpt_heavy_tailed_noise_with_nonzero_mean(planted):
    net, X, Y = planted(8, 2, m=1, n=20_000, seed=3)
    E = 0.5 + 0.3 * np.random.default_rng(5).standard_t(3, size=Y.shape)
    res = recover_fpt(X, Y + E, 2, intercept=True, n_candidates=8, rng=6)
    # Least squares with noise of standard deviation 0.3 * sqrt(3): error O(sqrt(d k / n)).
    assert rl.parameter_error(net, res.network) < 0.1
    assert abs(float(res.offset[0]) - 0.5) < 5 * 0.3 * np.sqrt(3) / np.sqrt(20_000)
    without = recover_fpt(X, Y + E, 2, intercept=False, n_candidates=8, rng=6)
    assert rl.parameter_error(net, without.network) > rl.parameter_error(net, res.network)


def test_span_from_moments_single_output(planted):
    net, X, Y = planted(12, 3, m=1, n=50_000, seed=7)
    assert principal_angle_sine(span_from_moments(X, Y, 3), net.V.T) < 0.15


def test_blind_example_has_zero_second_moment():
    net, V = blind_depth3_network(6, rng=0)
    x, w = rl.gauss_hermite_prob(80)
    # F restricted to the plane of v1, v2: E[F (z2^2 - 1)] = 0 and E[F z2] = 0 by quadrature.
    z1, z2 = np.meshgrid(x, x, indexing="ij")
    W = np.outer(w, w)
    F = net.predict(z1.reshape(-1, 1) * V[0] + z2.reshape(-1, 1) * V[1]).reshape(z1.shape)
    assert abs(np.sum(W * F * (z2**2 - 1))) < 1e-2
    assert abs(np.sum(W * F * z2)) < 1e-2
    assert abs(np.sum(W * F * z1) - 1.0) < 1e-2


def test_filtered_pca_depth3_principal_angle():
    # Done-when: principal-angle sine <= 0.1 on the depth-3 example, where plain moments are blind.
    net, V = blind_depth3_network(10, rng=0)
    X, y = net.samples(40_000, rng=1)
    res = filtered_pca(X, y, 2)
    assert principal_angle_sine(res.basis, V.T) <= 0.1
    assert principal_angle_sine(span_from_moments(X, y, 2), V.T) > 0.5  # plain moments are blind
    assert res.basis.shape == (10, 2)
    assert np.allclose(res.basis.T @ res.basis, np.eye(2), atol=1e-12)


def test_principal_angle_sine():
    e = np.eye(3)
    assert principal_angle_sine(e[:, :2], e[:, :2]) == 0.0
    assert principal_angle_sine(e[:, :1], e[:, 1:2]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="B: expected 3 rows"):
        principal_angle_sine(e, np.eye(2))


def test_bad_inputs(planted):
    net, X, Y = planted(5, 2, n=1000, seed=0)
    with pytest.raises(ValueError, match="k: expected at most d=5"):
        recover_fpt(X, Y, 6)
    with pytest.raises(ValueError, match="X: expected at least 10 d k"):
        recover_fpt(X[:20], Y[:20], 2)
    with pytest.raises(ValueError, match=r"span: expected shape \(5, 2\)"):
        recover_fpt(X, Y, 2, span=np.eye(5))
    with pytest.raises(ValueError, match="quantile: expected a number in"):
        filtered_pca(X, Y, 2, quantile=1.5)
    with pytest.raises(ValueError, match="Y: expected one output"):
        filtered_pca(X, np.hstack([Y, Y]), 2)
    Yn = Y.copy()
    Yn[3] = np.inf
    with pytest.raises(ValueError, match="Y: expected finite values"):
        recover_fpt(X, Yn, 2)


def test_depth3_samples_refuse_an_unbounded_allocation_before_any_work():
    net, _ = blind_depth3_network(10, rng=0)
    with pytest.raises(ValueError, match=r"^n: the samples and labels \(n, d \+ 1\) would have"):
        net.samples(10**9)
