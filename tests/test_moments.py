"""Tests of relulib.moments and relulib.population (ATV21, Lemma 3.5): streamed moment
estimates, and the exact variances of the empirical Hermite moments of one ReLU unit."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

import relulib as rl
from relulib.moments import row_blocks
from relulib.tensors import hermite_tensor_entries


@pytest.fixture(scope="module")
def moment_sample():
    net = rl.random_network(4, 3, bias_scale=1.5, rng=11)
    X, Y = rl.gaussian_samples(net, 1_000_000, rng=12)
    return net, X, Y[:, 0]


@pytest.mark.parametrize("order", range(0, 5))
def test_empirical_tensor_converges_to_lemma_3_5(moment_sample, order):
    # Every distinct entry of T_k is a sample mean of y He_alpha(x); its distance to
    # the population value must be within 5 standard errors (computed from the samples).
    net, X, y = moment_sample
    entries, scatter = hermite_tensor_entries(X, order)
    terms = y[:, None] * entries
    mean = terms.mean(axis=0)
    stderr = terms.std(axis=0, ddof=1) / np.sqrt(len(y))
    population = rl.hermite_coefficients(net, order).reshape(-1)
    # scatter maps each full index to its distinct entry; take one full index per entry
    first = np.unique(scatter, return_index=True)[1]
    z = np.abs(mean - population[first]) / stderr
    assert np.all(z < 5.0), f"largest deviation {z.max():.2f} standard errors"
    # and the public full-tensor estimator agrees with this computation
    T = rl.empirical_hermite_tensor(X, y, order)
    np.testing.assert_allclose(T.reshape(-1)[first], mean, rtol=1e-10, atol=1e-13)


def test_contracted_equals_full_contraction():
    net = rl.random_network(5, 3, m=2, bias_scale=1.0, rng=3)
    X, Y = rl.gaussian_samples(net, 30_000, rng=4)
    rng = np.random.default_rng(5)
    G, H = rng.standard_normal((2, 4, 5))
    T2 = rl.empirical_hermite_tensor(X, Y, 2)
    T3 = rl.empirical_hermite_tensor(X, Y, 3)
    T4 = rl.empirical_hermite_tensor(X, Y, 4)
    np.testing.assert_allclose(rl.moment_matrix(X, Y, 2), T2, atol=1e-12)
    M3 = rl.moment_matrix(X, Y, 3, G)  # (m, p, d, d)
    M4 = rl.moment_matrix(X, Y, 4, G, H)
    assert M3.shape == (2, 4, 5, 5) and M4.shape == (2, 4, 5, 5)
    for j in range(4):
        np.testing.assert_allclose(M3[:, j], T3 @ G[j], atol=1e-12)
        np.testing.assert_allclose(M4[:, j], np.einsum("rijkl,k,l->rij", T4, G[j], H[j]), atol=1e-12)
    # single output, single vector: no extra axes
    assert rl.moment_matrix(X, Y[:, 0], 3, G[0]).shape == (5, 5)


def test_streaming_equals_one_pass():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((10_000, 6))
    y = np.maximum(X[:, 0] + 0.3, 0) - 0.5 * np.maximum(X[:, 1], 0)
    g, h = rng.standard_normal((2, 6))
    whole = rl.HermiteMomentAccumulator(6, g3=g, g4=g, h4=h).update(X, y)
    parts = rl.HermiteMomentAccumulator(6, g3=g, g4=g, h4=h)
    for chunk in np.array_split(np.arange(10_000), 7):
        parts.update(X[chunk], y[chunk])
    assert parts.n == whole.n == 10_000
    for name in ("T0", "T1", "T2", "T3", "T4"):
        np.testing.assert_allclose(getattr(parts, name)(), getattr(whole, name)(), atol=1e-12)


def test_population_factors_and_normalisation():
    # A network with non-unit rows has the coefficients of its normalised twin
    net = rl.random_network(3, 2, bias_scale=1.0, rng=7)
    scaled = rl.TwoLayerNetwork(net.U / 2.0, 2.0 * net.V, 2.0 * net.b)
    for order in range(5):
        np.testing.assert_allclose(
            rl.hermite_coefficients(scaled, order), rl.hermite_coefficients(net, order), atol=1e-14
        )
    weights, W = rl.hermite_coefficient_factors(net, 4)
    np.testing.assert_allclose(
        rl.symmetric_rank_one_sum(weights[0], W, 4), rl.hermite_coefficients(net, 4), atol=1e-14
    )


def test_sign_flip_changes_only_orders_0_and_1():
    # sigma(t) - sigma(-t) = t: flipping (w, b) -> (-w, -b) adds an affine function
    net = rl.random_network(3, 2, bias_scale=1.0, rng=8)
    flipped = net.copy()
    flipped.V[0] *= -1
    flipped.b[0] *= -1
    for order in (2, 3, 4):
        np.testing.assert_allclose(
            rl.hermite_coefficients(flipped, order), rl.hermite_coefficients(net, order), atol=1e-15
        )
    assert np.abs(rl.hermite_coefficients(flipped, 1) - rl.hermite_coefficients(net, 1)).max() > 0.1


def test_bad_inputs():
    X = np.zeros((10, 3))
    with pytest.raises(ValueError, match="Y: expected 10 labels"):
        rl.moment_matrix(X, np.zeros(9), 2)
    with pytest.raises(ValueError, match="X: expected finite values"):
        rl.moment_matrix(np.full((10, 3), np.nan), np.zeros(10), 2)
    with pytest.raises(ValueError, match="order: expected 2, 3 or 4"):
        rl.moment_matrix(X, np.zeros(10), 5)
    with pytest.raises(ValueError, match="vectors: expected 1 contraction vector"):
        rl.moment_matrix(X, np.zeros(10), 3)
    with pytest.raises(ValueError, match="g3: expected vectors of length d=3"):
        rl.HermiteMomentAccumulator(3, g3=np.ones(4))
    with pytest.raises(ValueError, match="update: no samples"):
        rl.HermiteMomentAccumulator(3).T2()
    with pytest.raises(ValueError, match="order: a full tensor"):
        rl.empirical_hermite_tensor(np.zeros((2, 50)), np.zeros(2), 4)
    with pytest.raises(ValueError, match="X: expected a 2-D array"):
        rl.empirical_hermite_tensor(np.zeros(5), np.zeros(5), 2)
    with pytest.raises(ValueError, match="order: expected a non-negative integer"):
        rl.empirical_hermite_tensor(X, np.zeros(10), -1)
    squared = rl.random_network(3, 2, activation="squared_relu", rng=0)
    with pytest.raises(ValueError, match="net: Lemma 3.5 of ATV21 is stated for the ReLU"):
        rl.hermite_coefficients(squared, 2)


# ---------------------------------------------------------------------------
# Exact variances of the empirical Hermite moments of one ReLU unit
# ---------------------------------------------------------------------------
# (formerly tests/test_sample_variance.py: Tests of the exact variances of the empirical Hermite moments of one ReLU unit.)
def test_public_names():
    for name in ("relu_label_hermite_energy", "unit_tensor_mse", "unit_contraction_variance"):
        assert name in rl.__all__


@pytest.mark.parametrize("p", [0, 1, 4, 9])
@pytest.mark.parametrize("b", [-1.5, 0.0, 0.7, 2.0])
def test_energy_against_adaptive_quadrature(p, b):
    ref = quad(lambda z: (z + b) ** 2 * rl.hermite_prob(p, z) ** 2 * rl.normal_pdf(z),
               -b, np.inf, limit=200)[0]
    assert rl.relu_label_hermite_energy(p, b) == pytest.approx(ref, rel=1e-10)


def test_energy_without_bias_is_half_of_the_full_line():
    # sigma(z)^2 + sigma(-z)^2 = z^2 and He_p^2 is even: J_p(0) = E[z^2 He_p^2] / 2
    for p in range(8):
        full = rl.gauss_hermite_prob(40)
        nodes, weights = full
        ref = 0.5 * float(np.sum(weights * nodes**2 * rl.hermite_prob(p, nodes) ** 2))
        assert rl.relu_label_hermite_energy(p, 0.0) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_one_dimension_contraction_equals_full_tensor(k):
    assert rl.unit_contraction_variance(k, 0.3, 1.0, a=-2.0) == pytest.approx(
        rl.unit_tensor_mse(k, 0.3, 1, a=-2.0), rel=1e-13)


def test_orthogonal_direction_is_pure_noise():
    # u orthogonal to w: T_k[u..u] has mean 0 and variance E[y^2] k!
    k, b = 4, 0.4
    ey2 = rl.relu_label_hermite_energy(0, b)
    assert rl.unit_contraction_variance(k, b, 0.0) == pytest.approx(ey2 * math.factorial(k))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_tensor_mse_against_simulation(k):
    rng = np.random.default_rng(k)
    d, a, b = 3, 1.3, 0.5
    w = np.array([0.6, 0.8, 0.0])
    net = rl.TwoLayerNetwork(np.array([[a]]), w[None, :], np.array([b]))
    X, Y = rl.gaussian_samples(net, 200_000, rng=rng)
    H = rl.hermite_tensor(X, k).reshape(len(X), -1)
    sq = ((Y[:, :1] * H - rl.hermite_coefficients(net, k).ravel()) ** 2).sum(axis=1)
    se = sq.std(ddof=1) / math.sqrt(len(sq))
    assert abs(sq.mean() - rl.unit_tensor_mse(k, b, d, a=a)) < 4 * se


def test_bad_inputs_variance():
    with pytest.raises(ValueError, match="p: expected a degree <= 20"):
        rl.relu_label_hermite_energy(21, 0.0)
    with pytest.raises(ValueError, match="d: expected a positive integer"):
        rl.unit_tensor_mse(2, 0.0, 0)
    with pytest.raises(ValueError, match=r"rho: expected a cosine in \[-1, 1\]"):
        rl.unit_contraction_variance(2, 0.0, 1.5)
    with pytest.raises(ValueError, match="b: expected finite values"):
        rl.unit_tensor_mse(2, np.nan, 3)
def _old_contractions(X, Y, g, h):
    """The expanded formulas of the module docstring, evaluated sample by sample (small n)."""
    d = X.shape[1]
    eye = np.eye(d)
    s, t, gh = X @ g, X @ h, float(g @ h)
    xx = X[:, :, None] * X[:, None, :]
    gx = g[None, :, None] * X[:, None, :]
    hx = h[None, :, None] * X[:, None, :]
    He3 = s[:, None, None] * (xx - eye) - gx - np.swapaxes(gx, 1, 2)
    He4 = ((s * t)[:, None, None] * (xx - eye) - t[:, None, None] * (gx + np.swapaxes(gx, 1, 2))
           - s[:, None, None] * (hx + np.swapaxes(hx, 1, 2)) - gh * xx + gh * eye
           + np.outer(g, h) + np.outer(h, g))
    return np.einsum("n,nij->ij", Y, He3) / len(Y), np.einsum("n,nij->ij", Y, He4) / len(Y)


def test_contractions_equal_the_expanded_formulas():
    # T_3 without the T_2 Gram and T_4 with -(g.h) folded into its weight agree with the
    # sample-by-sample formulas (d = 30, beyond the full-tensor estimator's comfort)
    rng = np.random.default_rng(21)
    X = rng.standard_normal((3000, 30))
    y = np.maximum(X[:, 0] - 0.2 * X[:, 3] + 0.4, 0.0)
    g, h = rng.standard_normal((2, 30))
    T3, T4 = _old_contractions(X, y, g, h)
    np.testing.assert_allclose(rl.moment_matrix(X, y, 3, g), T3, rtol=0, atol=1e-12 * np.abs(T3).max())
    np.testing.assert_allclose(rl.moment_matrix(X, y, 4, g, h), T4, rtol=0, atol=1e-12 * np.abs(T4).max())
    acc = rl.HermiteMomentAccumulator(30, g3=g, g4=g, h4=h, order2=False).update(X, y)
    np.testing.assert_allclose(acc.T4()[0, 0], T4, rtol=0, atol=1e-12 * np.abs(T4).max())
    with pytest.raises(ValueError, match="T2: this accumulator was built without"):
        acc.T2()


def test_merge_over_a_split_equals_one_accumulator():
    rng = np.random.default_rng(22)
    X = rng.standard_normal((9_000, 7))
    Y = np.stack([np.maximum(X[:, 0] + 0.3, 0), np.maximum(X[:, 1] - X[:, 2], 0)], axis=1)
    g, h = rng.standard_normal((2, 2, 7))

    def make():
        return rl.HermiteMomentAccumulator(7, g3=g, g4=g, h4=h)

    whole = make().update(X, Y)
    parts = [make().update(X[idx], Y[idx]) for idx in np.array_split(rng.permutation(9_000), 4)]
    merged = make()  # an empty accumulator adopts the number of outputs of the first merged
    for part in parts:
        assert merged.merge(part) is merged
    assert merged.n == whole.n == 9_000
    for name in ("T0", "T1", "T2", "T3", "T4"):
        a, b = getattr(merged, name)(), getattr(whole, name)()
        assert np.abs(a - b).max() <= 1e-12 * np.abs(b).max(), name


def test_merge_rejects_other_configurations():
    rng = np.random.default_rng(23)
    X = rng.standard_normal((100, 3))
    g = rng.standard_normal(3)
    acc = rl.HermiteMomentAccumulator(3, g3=g).update(X, X[:, 0])
    with pytest.raises(ValueError, match="other: expected an accumulator with d=3"):
        acc.merge(rl.HermiteMomentAccumulator(4, g3=np.ones(4)))
    with pytest.raises(ValueError, match="other: expected the same contraction vectors g3"):
        acc.merge(rl.HermiteMomentAccumulator(3, g3=g + 1))
    with pytest.raises(ValueError, match="other: expected the same contraction vectors g4"):
        acc.merge(rl.HermiteMomentAccumulator(3, g3=g, g4=g))
    with pytest.raises(ValueError, match="other: expected m=1 outputs"):
        acc.merge(rl.HermiteMomentAccumulator(3, g3=g).update(X, X[:, :2]))
    with pytest.raises(ValueError, match="other: expected order2=True"):
        acc.merge(rl.HermiteMomentAccumulator(3, g3=g, order2=False))
    with pytest.raises(TypeError, match="other: expected a HermiteMomentAccumulator"):
        acc.merge("not an accumulator")


def test_projected_accumulator_equals_full_tensors_of_z():
    # One weighted Gram of the monomials [1, z, z_a z_b] gives the full Hermite tensors of
    # z = P^T x of orders 2-4; partial accumulators over a split merge to the same sums.
    rng = np.random.default_rng(24)
    X = rng.standard_normal((20_000, 9))
    P = np.linalg.qr(rng.standard_normal((9, 3)))[0]
    r = np.maximum(X @ rng.standard_normal(9) + 0.5, 0.0) - 0.4
    Z = X @ P
    acc = rl.ProjectedMomentAccumulator(P).update(X, r)
    for order, T in zip((2, 3, 4), acc.moments()):
        full = rl.empirical_hermite_tensor(Z, r, order)
        assert np.abs(T - full).max() <= 1e-12 * np.abs(full).max(), order
    parts = [rl.ProjectedMomentAccumulator(P).update(X[i], r[i])
             for i in np.array_split(np.arange(20_000), 3)]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    assert merged.n == 20_000
    for a, b in zip(merged.moments(), acc.moments()):
        assert np.abs(a - b).max() <= 1e-12 * np.abs(b).max()
    with pytest.raises(ValueError, match="other: expected an accumulator with the same projection P"):
        acc.merge(rl.ProjectedMomentAccumulator(P[:, :2]))
    with pytest.raises(ValueError, match="P: expected orthonormal columns"):
        rl.ProjectedMomentAccumulator(2 * P)
    with pytest.raises(ValueError, match="update: no samples"):
        rl.ProjectedMomentAccumulator(P).moments()


def test_a_non_finite_chunk_leaves_the_accumulator_unchanged():
    # finiteness is checked block by block; a bad block deep inside X must not leave
    # the sums of the blocks before it in the accumulator
    rng = np.random.default_rng(25)
    X = rng.standard_normal((50_000, 4))
    y = X[:, 0] ** 2
    acc = rl.HermiteMomentAccumulator(4, g3=np.ones(4)).update(X[:1000], y[:1000])
    before = acc.T3().copy()
    bad = X.copy()
    bad[-1, 2] = np.nan
    bad[-2, 1] = np.inf
    with pytest.raises(ValueError, match="X: expected finite values, got 2 NaN or infinite entries"):
        acc.update(bad, y)
    assert acc.n == 1000 and np.array_equal(acc.T3(), before)
    fresh = rl.HermiteMomentAccumulator(4)
    with pytest.raises(ValueError, match="X: expected finite values"):
        fresh.update(bad, y)
    assert fresh.m is None and fresh.n == 0
    P = np.eye(4)[:, :2]
    proj = rl.ProjectedMomentAccumulator(P).update(X[:1000], y[:1000])
    with pytest.raises(ValueError, match="X: expected finite values"):
        proj.update(bad, y)
    assert proj.n == 1000 and np.array_equal(proj.moments()[1], rl.ProjectedMomentAccumulator(P).update(
        X[:1000], y[:1000]).moments()[1])


def test_the_deferred_finiteness_check_catches_zero_labels_and_passes_overflow():
    # the check runs on the block's sums y^T x: a NaN/inf in x must show there even
    # where y = 0, and finite samples whose sums overflow must go through to the
    # moment's own overflow error, not to a false "non-finite X"
    X = np.ones((1000, 3))
    X[500, 1] = np.inf
    with pytest.raises(ValueError, match="X: expected finite values, got 1 NaN or infinite"):
        rl.HermiteMomentAccumulator(3, g4=np.ones(3), order2=False).update(X, np.zeros(1000))
    huge = np.full((1000, 3), 1e200)
    acc = rl.HermiteMomentAccumulator(3).update(huge, np.full(1000, 1e200))
    assert acc.n == 1000
    with pytest.raises(ValueError, match="E\\[y x\\]"):
        acc.T1()


@pytest.mark.parametrize("order", [3, 4])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_moment_matrix_finiteness_check_where_the_label_and_the_vector_entry_are_zero(order, bad):
    # moment_matrix's T_4 path skips the sums X^T y: its check runs on X^T (y s) and
    # X^T (y t), which must still turn non-finite for a bad x where y = 0 and g, h are 0
    # at that coordinate (0 * inf is NaN); the bad row sits in the second chunk
    rng = np.random.default_rng(20)
    X = rng.standard_normal((20_000, 4))
    y = rng.standard_normal(20_000)
    X[15_000, 2], y[15_000] = bad, 0.0
    g = np.array([1.0, -0.5, 0.0, 2.0])
    vectors = (g,) if order == 3 else (g, np.array([0.5, 1.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="X: expected finite values, got 1 NaN or infinite"):
        rl.moment_matrix(X, y, order, *vectors)


def test_row_blocks_cover_the_rows_in_order():
    # slices of range(n) when no rows are given: views, the last one short
    blocks = list(row_blocks(10, 4))
    assert blocks == [(slice(0, 4), slice(0, 4)), (slice(4, 8), slice(4, 8)),
                      (slice(8, 12), slice(8, 12))]
    X = np.arange(20.0).reshape(10, 2)
    assert np.array_equal(np.vstack([X[sel] for _, sel in blocks]), X)
    # pieces of an index array, in its order (repeats kept); n is then not used
    rows = np.array([7, 2, 2, 9, 0])
    blocks = list(row_blocks(10, 2, rows))
    assert [pos for pos, _ in blocks] == [slice(0, 2), slice(2, 4), slice(4, 6)]
    assert [sel.tolist() for _, sel in blocks] == [[7, 2], [2, 9], [0]]
    assert np.array_equal(np.vstack([X[sel] for _, sel in blocks]), X[rows])
    assert list(row_blocks(0, 3)) == []


def test_update_on_rows_equals_the_update_on_their_copy_bit_for_bit():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3000, 20)), rng.standard_normal((3000, 3))
    g = rng.standard_normal((2, 20))
    rows = rng.permutation(3000)[:2100]  # several chunks (436 rows each here), in this order
    a = rl.HermiteMomentAccumulator(20, g3=g, g4=g).update(X, Y, rows=rows)
    assert a.chunk_size() < 1000
    b = rl.HermiteMomentAccumulator(20, g3=g, g4=g).update(X[rows], Y[rows])
    assert a.n == b.n == 2100
    for name in ("T0", "T1", "T2", "T3", "T4"):
        assert np.array_equal(getattr(a, name)(), getattr(b, name)()), name
    with pytest.raises(ValueError, match=r"rows: expected a non-empty array of row indices in \[0, 3000\)"):
        a.update(X, Y, rows=[3000])
    assert a.n == 2100  # a refused update adds nothing
