"""Property-based tests (issue 15) with hypothesis: invariants of the parameter error, the
Gaussian integrals against quadrature over wide argument ranges, and no mutation of inputs.
Deterministic (derandomize=True) and bounded (max_examples, deadline) for CI."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import integrate, special

import relulib as rl

SETTINGS = dict(max_examples=40, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

seeds = st.integers(0, 2**31 - 1)


def _network(seed, d, k, bias=1.0):
    return rl.random_network(d, k, m=2, bias_scale=bias, rng=seed)


@settings(**SETTINGS)
@given(seed=seeds, d=st.integers(2, 6), k=st.integers(1, 4), data=st.data())
def test_parameter_error_is_invariant_to_permutation_and_positive_rescaling(seed, d, k, data):
    net = _network(seed, d, k)
    perm = data.draw(st.permutations(list(range(k))))
    scales = np.array(data.draw(st.lists(st.floats(1e-3, 1e3), min_size=k, max_size=k)))
    # Positive homogeneity of ReLU: u relu(v.x + b) = (u c) relu((v.x + b) / c) for c > 0.
    rescaled = rl.TwoLayerNetwork(net.U * scales, net.V / scales[:, None], net.b / scales)
    assert rl.parameter_error(net, rescaled.permuted(perm)) < 1e-9
    other = _network(seed + 1, d, k)
    e1 = rl.parameter_error(net, other)
    e2 = rl.parameter_error(rescaled.permuted(perm), other)
    assert abs(e1 - e2) < 1e-9 * max(1.0, e1)


@settings(**SETTINGS)
@given(seed=seeds, d=st.integers(2, 5), k=st.integers(1, 3),
       act=st.sampled_from(["squared_relu", "rectified_tanh"]))
def test_parameter_error_is_zero_only_for_the_same_activation(seed, d, k, act):
    net = _network(seed, d, k)
    same_weights = rl.TwoLayerNetwork(net.U, net.V, net.b, activation=act)
    assert rl.parameter_error(net, same_weights) == math.inf
    moved = rl.TwoLayerNetwork(net.U, net.V, net.b + 1e-3)
    assert rl.parameter_error(net, moved) > 0


def _phi2_quad(h, k, rho):
    s = math.sqrt(1.0 - rho * rho)
    f = lambda x: math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * special.ndtr((k - rho * x) / s)
    lo = -40.0
    if h <= lo:
        return 0.0
    kink = [k / rho] if rho != 0 and lo < k / rho < h else None
    return integrate.quad(f, lo, h, points=kink, epsabs=1e-15, epsrel=1e-13, limit=400)[0]


wide = st.one_of(st.floats(-8, 8), st.floats(-1e-150, 1e-150),
                 st.sampled_from([0.0, 1e-300, -1e-300, 1e100, -1e100, 1e300, -1e300]))


@settings(**SETTINGS)
@given(h=wide, k=wide, rho=st.floats(-0.999, 0.999))
def test_bivariate_cdf_agrees_with_quadrature(h, k, rho):
    # Beyond |t| = 40 the normal mass is below 1e-300: clip the reference's arguments there.
    ref = _phi2_quad(float(np.clip(h, -40, 40)), float(np.clip(k, -40, 40)), rho)
    got = rl.bivariate_normal_cdf(h, k, rho)
    assert 0.0 <= got <= 1.0
    assert abs(got - ref) < 1e-10


@settings(**SETTINGS)
@given(seed=seeds, d=st.integers(2, 5), bias=st.floats(-3, 3), cbias=st.floats(-3, 3))
def test_relu_kernel_agrees_with_quadrature(seed, d, bias, cbias):
    rng = np.random.default_rng(seed)
    w, v = rng.standard_normal(d), rng.standard_normal(d)
    closed = float(rl.relu_gaussian_kernel(w[None], [bias], v[None], [cbias])[0, 0])
    # 1-D quadrature over z_1 = w.x/|w| of the exact inner mean over the orthogonal part of v
    nw, v1 = np.linalg.norm(w), float(v @ w) / np.linalg.norm(w)
    v2 = math.sqrt(max(float(v @ v) - v1 * v1, 0.0))
    inner = lambda z: ((v1 * z + cbias) * special.ndtr((v1 * z + cbias) / v2)  # noqa: E731
                       + v2 * math.exp(-0.5 * ((v1 * z + cbias) / v2) ** 2) / math.sqrt(2 * math.pi))
    outer = lambda z: (nw * z + bias) * inner(z) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    ref = integrate.quad(outer, -bias / nw, 40, limit=200)[0]
    assert abs(closed - ref) < 1e-8 * max(1.0, abs(closed))
    # Monte Carlo-free check of one marginal: E[sigma(w.x + b)^2] by 1-D quadrature.
    nw = np.linalg.norm(w)
    f = lambda z: max(nw * z + bias, 0.0) ** 2 * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    diag = integrate.quad(f, -40, 40, points=[-bias / nw], limit=200)[0]
    assert abs(float(rl.relu_gaussian_kernel(w[None], [bias], w[None], [bias])[0, 0]) - diag) < 1e-9 * max(1.0, diag)


PUBLIC_CALLS = [
    ("parameter_error", lambda net, X, Y: rl.parameter_error(net, net)),
    ("relative_residual", lambda net, X, Y: rl.relative_residual(net, X, Y)),
    ("moment_matrix", lambda net, X, Y: rl.moment_matrix(X, Y, 2)),
    ("empirical_hermite_tensor", lambda net, X, Y: rl.empirical_hermite_tensor(X, Y, 2)),
    ("approximate_directions", lambda net, X, Y: rl.approximate_directions(X, Y, 2, rng=0)),
    ("recover_exact", lambda net, X, Y: rl.recover_exact(X, Y, 2, rng=0)),
    ("refine_by_patterns", lambda net, X, Y: rl.refine_by_patterns(net, X, Y)),
    ("gaussian_samples", lambda net, X, Y: rl.gaussian_samples(net, 5, rng=0)),
    ("hermite_coefficients", lambda net, X, Y: rl.hermite_coefficients(net, 2)),
    ("normalized", lambda net, X, Y: net.normalized()),
]


@pytest.mark.parametrize("name, call", PUBLIC_CALLS, ids=[c[0] for c in PUBLIC_CALLS])
def test_public_functions_do_not_mutate_their_inputs(name, call):
    net = rl.random_network(4, 2, m=2, rng=3)
    X, Y = rl.gaussian_samples(net, 400, rng=4)
    before = [a.copy() for a in (net.U, net.V, net.b, X, Y)]
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(net, X, Y)
    for a, b in zip((net.U, net.V, net.b, X, Y), before):
        assert np.array_equal(a, b), name


def test_network_keeps_no_reference_to_the_callers_arrays():
    U, V, b = np.ones((1, 2)), np.eye(2), np.zeros(2)
    net = rl.TwoLayerNetwork(U, V, b)
    U[:] = 5.0
    V[:] = 7.0
    b[:] = 9.0
    assert np.array_equal(net.U, np.ones((1, 2))) and np.array_equal(net.V, np.eye(2))
    assert np.array_equal(net.b, np.zeros(2))
