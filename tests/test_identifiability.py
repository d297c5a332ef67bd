"""Tests of relulib.identifiability (ATV21, Theorem 3.4, Claim 4.8; closed-form L2 distance)."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import brentq

import relulib as rl
from quadrature_reference import quadrature_kernel

def quadrature_l2_squared(f, g):
    """E[(f - g)^2] as the quadratic form of the concatenated units with quadrature kernels."""
    V = np.vstack([f.V, g.V])
    b = np.concatenate([f.b, g.b])
    c = np.concatenate([f.U[0], -g.U[0]])
    n = np.linalg.norm(V, axis=1)
    K = np.empty((len(c), len(c)))
    for i in range(len(c)):
        for j in range(len(c)):
            rho = float(np.clip(V[i] @ V[j] / (n[i] * n[j]), -1, 1))
            if abs(rho) > 1 - 1e-9:  # parallel units: 1-D Gauss-Hermite is exact here up to the kink
                K[i, j] = rl.relu_gaussian_kernel(V[i : i + 1], b[i : i + 1], V[j : j + 1], b[j : j + 1])[0, 0]
            else:
                K[i, j] = n[i] * n[j] * quadrature_kernel(b[i] / n[i], b[j] / n[j], rho)
    return float(c @ K @ c)


# ---------------------------------------------------------------------------
# Claim 4.8 constructor
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("m", [4, 5, 6])
@pytest.mark.parametrize("biased", [False, True])
def test_constructor_certified_equal_on_random_dependent_inputs(m, biased):
    rng = np.random.default_rng(100 + m + 10 * biased)
    d = 3
    for _ in range(5):
        V = rng.standard_normal((m, d))  # m > d: always linearly dependent
        b = None
        if biased:  # biases with sum_i a0_i b_i = 0 for a null vector a0 of W: (w_i, b_i) dependent
            a0 = np.linalg.svd(V.T)[2][-1]
            b = rng.standard_normal(m)
            b -= (a0 @ b) * a0
        pair = rl.sign_flip_pair(V, b, rng=rng)
        assert pair.certificate.equal
        assert np.any(pair.signs == -1)
        assert np.all(pair.a != 0)  # generic inputs: every unit takes part
        # the two networks are different parameterisations of the same function
        assert rl.parameter_error(pair.original, pair.flipped) > 0.1
        assert rl.parameter_error(pair.original, pair.flipped, up_to_sign=True) < 1e-12
        # same function: sampled values agree, and the closed-form distance is at rounding level
        X = rng.standard_normal((2000, d))
        np.testing.assert_allclose(pair.original(X), pair.flipped(X), atol=1e-12)
        assert rl.l2_distance(pair.original, pair.flipped) < 1e-12


def test_constructor_with_biases_needs_dependent_augmented_vectors():
    rng = np.random.default_rng(7)
    V = rng.standard_normal((3, 2))  # dependent w_i, but generic (w_i, b_i) in R^3 are independent
    pair = rl.sign_flip_pair(V, rng=rng)  # no biases: Claim 4.8 applies
    assert pair.certificate.equal
    with pytest.raises(ValueError, match=r"augmented vectors \(w_i, b_i\)"):
        rl.sign_flip_pair(V, rng.standard_normal(3))


def test_constructor_refuses_independent_weights():
    rng = np.random.default_rng(1)
    with pytest.raises(ValueError, match="V: expected linearly dependent weight vectors"):
        rl.sign_flip_pair(rng.standard_normal((3, 3)))
    with pytest.raises(ValueError, match="V: expected linearly dependent"):
        rl.sign_flip_pair(np.eye(2))


def test_constructor_partial_support():
    # Only the first three vectors are dependent; the fourth must keep a_4 = 0 and xi_4 = +1.
    V = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    pair = rl.sign_flip_pair(V, rng=0)
    assert pair.a[3] == 0 and pair.signs[3] == 1
    np.testing.assert_allclose(np.abs(pair.a[:3]), [1.0, 1.0, 1.0], atol=1e-12)
    assert pair.certificate.equal


def test_constructor_validation():
    with pytest.raises(ValueError, match="V: expected a 2-D array"):
        rl.sign_flip_pair(np.ones(3))
    with pytest.raises(ValueError, match=r"b: expected shape \(3\)"):
        rl.sign_flip_pair(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="tol: expected a non-negative tolerance"):
        rl.sign_flip_pair(np.ones((3, 2)), tol=-1.0)
    with pytest.raises(ValueError, match="V: expected finite values"):
        rl.sign_flip_pair(np.array([[np.nan, 0.0], [1.0, 0.0], [0.0, 1.0]]))


def test_smallest_instance():
    pair = rl.smallest_sign_flip_pair()
    assert pair.certificate.equal and pair.certificate.residual == 0.0
    x = np.random.default_rng(0).standard_normal((500, 2))
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    lhs = relu(x[:, 0]) + relu(x[:, 1]) + relu(-x[:, 0] - x[:, 1])
    rhs = relu(-x[:, 0]) + relu(-x[:, 1]) + relu(x[:, 0] + x[:, 1])
    np.testing.assert_allclose(pair.original(x)[:, 0], lhs)
    np.testing.assert_allclose(pair.flipped(x)[:, 0], rhs)
    np.testing.assert_allclose(lhs, rhs, atol=1e-14)


# ---------------------------------------------------------------------------
# Equality certificate
# ---------------------------------------------------------------------------
def test_certificate_says_different_for_one_flipped_unit():
    rng = np.random.default_rng(3)
    for _ in range(10):
        net = rl.random_network(3, 4, bias_scale=1.0, rng=rng)
        for i in range(net.k):
            signs = np.ones(net.k)
            signs[i] = -1
            cert = rl.function_equality_certificate(net, rl.flip_units(net, signs))
            assert not cert.equal
            # the kinks cancel; the affine function a_i (w_i.x + b_i) is left over
            np.testing.assert_allclose(cert.kink_coefficients, 0.0, atol=1e-12)
            a, w, b = net.U[0, i], net.V[i], net.b[i]
            np.testing.assert_allclose(cert.affine_weight, a * w, atol=1e-12)
            assert cert.affine_offset == pytest.approx(a * b, abs=1e-12)


def test_certificate_symmetries_and_non_equal():
    rng = np.random.default_rng(4)
    net = rl.random_network(4, 5, bias_scale=1.0, rng=rng)
    scales = rng.uniform(0.5, 2.0, size=5)
    rescaled = rl.TwoLayerNetwork(net.U / scales, net.V * scales[:, None], net.b * scales)
    assert rl.function_equality_certificate(net, rescaled.permuted([4, 2, 0, 1, 3])).equal
    # a unit written as two halves merges
    split = rl.TwoLayerNetwork(
        np.append(net.U[0], net.U[0, 4]) * np.r_[np.ones(4), 0.5, 0.5],
        np.vstack([net.V, net.V[4]]),
        np.append(net.b, net.b[4]),
    )
    assert rl.function_equality_certificate(net, split).equal
    other = rl.random_network(4, 5, bias_scale=1.0, rng=rng)
    cert = rl.function_equality_certificate(net, other)
    assert not cert.equal and cert.residual > 0.1
    # perturbing one bias is detected
    nudged = rl.TwoLayerNetwork(net.U, net.V, net.b + np.r_[1e-6, 0, 0, 0, 0])
    assert not rl.function_equality_certificate(net, nudged).equal


def test_certificate_constants_and_affine_pieces():
    # sigma(x) - sigma(-x) - x == 0, with the affine part written as two opposite units
    f = rl.TwoLayerNetwork([1.0, -1.0], [[1.0, 0.0], [-1.0, 0.0]])
    g = rl.TwoLayerNetwork([1.0, -1.0, 2.0], [[0.5, 0.0], [-0.5, 0.0], [0.0, 0.0]], [0.0, 0.0, -3.0])
    # g = 2 sigma(x/2)... = x ; the zero-weight unit contributes 2 sigma(-3) = 0
    g2 = rl.TwoLayerNetwork([2.0, -2.0, 0.5], [[0.5, 0.0], [-0.5, 0.0], [0.0, 0.0]], [0.0, 0.0, 2.0])
    assert not rl.function_equality_certificate(f, g).equal  # g = x/2, f = x
    cert = rl.function_equality_certificate(f, g2)
    assert not cert.equal and cert.affine_offset == pytest.approx(-1.0)  # g2 = x + 1
    f1 = rl.TwoLayerNetwork([1.0, -1.0, 1.0], [[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]], [0.0, 0.0, 1.0])
    assert rl.function_equality_certificate(f1, g2).equal


def test_certificate_validation():
    net = rl.random_network(3, 2, rng=0)
    with pytest.raises(ValueError, match="f: expected a TwoLayerNetwork"):
        rl.function_equality_certificate("net", net)
    with pytest.raises(ValueError, match="g: expected input dimension d = 3"):
        rl.function_equality_certificate(net, rl.random_network(4, 2, rng=0))
    with pytest.raises(ValueError, match=r"g: expected a single-output network \(m = 1\)"):
        rl.function_equality_certificate(net, rl.random_network(3, 2, m=2, rng=0))
    with pytest.raises(ValueError, match="f: expected a ReLU network"):
        rl.function_equality_certificate(rl.random_network(3, 2, activation="squared_relu", rng=0), net)
    with pytest.raises(ValueError, match="tol: expected a non-negative tolerance"):
        rl.function_equality_certificate(net, net, tol=-1e-3)


# ---------------------------------------------------------------------------
# Equation (2) of Theorem 3.4
# ---------------------------------------------------------------------------
def test_full_rank_only_trivial_sign_vector():
    rng = np.random.default_rng(5)
    for _ in range(20):
        net = rl.random_network(6, 5, bias_scale=2.0, rng=rng)
        sols = rl.equation2_sign_vectors(net)
        assert sols.tolist() == [[1] * 5]  # ATV21, Theorem 4.1


def test_sign_vectors_are_exactly_the_function_preserving_flips():
    # two dependent triples, in the (x1, x2) and the (x3, x4) planes of R^4: 4 solutions
    V = np.zeros((6, 4))
    V[:3, :2] = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    V[3:, 2:] = [[1.0, 0.5], [-0.3, 1.0], [-0.7, -1.5]]
    net = rl.TwoLayerNetwork(np.ones(6), V)
    sols = rl.equation2_sign_vectors(net)
    assert len(sols) == 4
    for xi in map(np.array, itertools.product([1, -1], repeat=6)):
        same = rl.function_equality_certificate(net, rl.flip_units(net, xi)).equal
        listed = any(np.array_equal(xi, s) for s in sols)
        assert same == listed
        assert same == bool(np.max(np.abs(rl.equation2_residual(net, xi))) < 1e-9)


def test_printed_equation2_is_not_sufficient():
    # a = (1, 1, -sqrt2), w = e1, e2, (e1+e2)/sqrt2: sum a_i w_i = 0.
    g = lambda t: abs(t) * (2 * rl.normal_cdf(abs(t)) - 1)  # noqa: E731  (= -t (1 - 2 Phi(t)))
    gamma = brentq(lambda t: math.sqrt(2) * g(t) - 2 * g(1.0), 1e-6, 10.0)
    V = np.array([[1.0, 0.0], [0.0, 1.0], [1 / math.sqrt(2), 1 / math.sqrt(2)]])
    net = rl.TwoLayerNetwork([1.0, 1.0, -math.sqrt(2)], V, [1.0, 1.0, -gamma])
    xi = np.array([-1, -1, -1])
    assert np.max(np.abs(rl.equation2_residual(net, xi, as_printed=True))) < 1e-12
    corrected = rl.equation2_residual(net, xi)
    assert abs(corrected[-1]) > 0.5  # f_0 differs by sum a_i b_i = 2 + sqrt2 gamma
    cert = rl.function_equality_certificate(net, rl.flip_units(net, xi))
    assert not cert.equal
    assert cert.affine_offset == pytest.approx(2 + math.sqrt(2) * gamma)


def test_equation2_validation():
    net = rl.random_network(3, 21, rng=0)
    with pytest.raises(ValueError, match="net: expected at most 20 hidden units"):
        rl.equation2_sign_vectors(net)
    small = rl.random_network(3, 2, rng=0)
    with pytest.raises(ValueError, match=r"signs: expected entries \+1 or -1"):
        rl.equation2_residual(small, [1, 0])
    with pytest.raises(ValueError, match=r"signs: expected shape \(2\)"):
        rl.flip_units(small, [1, 1, 1])
    with pytest.raises(ValueError, match="net: expected a TwoLayerNetwork"):
        rl.flip_units(None, [1])


# ---------------------------------------------------------------------------
# Closed-form kernel and L2 distance
# ---------------------------------------------------------------------------
def test_l2_distance_matches_quadrature():
    rng = np.random.default_rng(11)
    for _ in range(3):
        f = rl.random_network(2, 3, bias_scale=1.5, rng=rng)
        g = rl.random_network(2, 2, bias_scale=1.5, rng=rng)
        assert rl.l2_distance(f, g) ** 2 == pytest.approx(quadrature_l2_squared(f, g), abs=1e-10)
    # a single flipped unit is at distance |a| sqrt(|w|^2 + b^2) (the affine function a (w.x + b))
    f = rl.random_network(3, 3, bias_scale=1.0, rng=rng)
    g = rl.flip_units(f, [1, -1, 1])
    expected = abs(f.U[0, 1]) * math.sqrt(f.V[1] @ f.V[1] + f.b[1] ** 2)
    assert rl.l2_distance(f, g) == pytest.approx(expected, abs=1e-12)
    assert quadrature_l2_squared(f, g) == pytest.approx(expected**2, abs=1e-10)


def test_l2_distance_against_monte_carlo():
    rng = np.random.default_rng(12)
    f = rl.random_network(3, 3, bias_scale=1.0, rng=rng)
    g = rl.random_network(3, 4, bias_scale=1.0, rng=rng)
    X = rng.standard_normal((200_000, 3))
    sq = (f(X) - g(X))[:, 0] ** 2
    se = sq.std() / math.sqrt(len(sq))
    assert abs(rl.l2_distance(f, g) ** 2 - sq.mean()) < 5 * se


def test_l2_distance_validation():
    net = rl.random_network(3, 2, rng=0)
    with pytest.raises(ValueError, match="g: expected input dimension d = 3"):
        rl.l2_distance(net, rl.random_network(2, 2, rng=0))
    with pytest.raises(ValueError, match="merge_tol: expected a non-negative tolerance"):
        rl.l2_distance(net, net, merge_tol=-1.0)
    with pytest.raises(ValueError, match=r"V2: expected 3 columns"):
        rl.relu_gaussian_kernel(np.ones((2, 3)), None, np.ones((2, 2)), None)
    with pytest.raises(ValueError, match=r"b1: expected shape \(2\)"):
        rl.relu_gaussian_kernel(np.ones((2, 3)), np.ones(3), np.ones((2, 3)), None)


# ---------------------------------------------------------------------------
# Kruskal rank and Fact 4.7
# ---------------------------------------------------------------------------
def test_kruskal_rank_and_fact_47_inequality():
    rng = np.random.default_rng(13)
    assert rl.kruskal_rank(np.eye(4)) == 4
    assert rl.kruskal_rank(rng.standard_normal((3, 6))) == 3
    for _ in range(20):
        U = rng.standard_normal((3, 5))
        U[:, 4] = U[:, 0] * rng.uniform(1, 2)  # krank(U) = 1
        V = rng.standard_normal((2, 5))
        ku, kv = rl.kruskal_rank(U), rl.kruskal_rank(V)
        assert (ku, kv) == (1, 2)
        assert rl.kruskal_rank(rl.khatri_rao(U, V)) >= min(ku + kv - 1, 5)
    # the printed "=" fails: both factors have krank 1, the Khatri-Rao product has krank 3
    U = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    V = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    assert (rl.kruskal_rank(U), rl.kruskal_rank(V), rl.kruskal_rank(rl.khatri_rao(U, V))) == (1, 1, 3)
    with pytest.raises(ValueError, match="M: expected at most 16 columns"):
        rl.kruskal_rank(np.ones((2, 17)))
    assert rl.kruskal_rank(np.zeros((2, 2))) == 0
