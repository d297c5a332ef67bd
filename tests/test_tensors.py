"""Tests of relulib.tensors: multivariate Hermite tensors, rank-one sums, flattenings."""

import math
from itertools import product

import numpy as np
import pytest

import relulib as rl


def test_order_two_and_three_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4)
    eye = np.eye(4)
    np.testing.assert_allclose(rl.hermite_tensor(x, 2), np.outer(x, x) - eye, atol=1e-14)
    H3 = (
        np.einsum("i,j,k->ijk", x, x, x)
        - np.einsum("ij,k->ijk", eye, x)
        - np.einsum("ik,j->ijk", eye, x)
        - np.einsum("jk,i->ijk", eye, x)
    )
    np.testing.assert_allclose(rl.hermite_tensor(x, 3), H3, atol=1e-13)


@pytest.mark.parametrize("order", range(0, 7))
def test_full_contraction_is_univariate(order):
    # He_k(x)[u, ..., u] = |u|^k He_k(u.x / |u|)
    rng = np.random.default_rng(order)
    x, u = rng.standard_normal((2, 3))
    T = rl.hermite_tensor(x, order)
    value = rl.contract_last_modes(T, *([u] * order)) if order else T
    r = np.linalg.norm(u)
    expected = r**order * rl.hermite_prob(order, u @ x / r)
    assert abs(float(value) - float(expected)) < 1e-10 * max(1.0, abs(float(expected)))


def test_tensor_is_symmetric_and_batched():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 3))
    T = rl.hermite_tensor(X, 4)
    assert T.shape == (5, 3, 3, 3, 3)
    for perm in [(0, 2, 1, 3, 4), (0, 4, 3, 2, 1), (0, 3, 1, 4, 2)]:
        np.testing.assert_array_equal(T, np.transpose(T, perm))
    np.testing.assert_allclose(T[2], rl.hermite_tensor(X[2], 4))


def test_orthogonality_of_tensor_entries():
    # E[He_k(x)_alpha He_k(x)_beta] = (prod_c n_c!) if alpha, beta are the same multiset
    d, order = 2, 3
    x1, w1 = rl.gauss_hermite_prob(8)
    X = np.array(list(product(x1, x1)))
    w = np.array([a * b for a, b in product(w1, w1)])
    T = rl.hermite_tensor(X, order).reshape(len(w), -1)
    gram = T.T @ (w[:, None] * T)
    for a, alpha in enumerate(product(range(d), repeat=order)):
        for b_, beta in enumerate(product(range(d), repeat=order)):
            same = sorted(alpha) == sorted(beta)
            expected = (
                math.prod(math.factorial(alpha.count(c)) for c in range(d)) if same else 0.0
            )
            assert abs(gram[a, b_] - expected) < 1e-10


def test_rank_one_sum_and_flatten():
    rng = np.random.default_rng(2)
    V = rng.standard_normal((3, 4))
    c = rng.standard_normal(3)
    T = rl.symmetric_rank_one_sum(c, V, 3)
    np.testing.assert_allclose(T, np.einsum("r,ri,rj,rk->ijk", c, V, V, V), atol=1e-13)
    F = rl.flatten(rl.symmetric_rank_one_sum(c, V, 5), 2, 2, 1)
    assert F.shape == (16, 16, 4)
    np.testing.assert_allclose(F[:, :, 0], sum(c[r] * V[r, 0] * np.outer(np.kron(V[r], V[r]), np.kron(V[r], V[r])) for r in range(3)), atol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="order: a full tensor of order 6 in dimension d=20"):
        rl.hermite_tensor(np.zeros(20), 6)
    with pytest.raises(ValueError, match="x: expected finite values"):
        rl.hermite_tensor(np.array([0.0, np.inf]), 2)
    with pytest.raises(ValueError, match="x: expected a 1-D or 2-D array"):
        rl.hermite_tensor(np.zeros((2, 2, 2)), 2)
    with pytest.raises(ValueError, match="group_sizes: expected sizes adding up to the tensor order 3"):
        rl.flatten(np.zeros((2, 2, 2)), 2, 2)
    with pytest.raises(ValueError, match="weights: expected shape"):
        rl.symmetric_rank_one_sum([1.0], np.ones((2, 3)), 2)
