"""Tests of relulib._patterns: the activation-pattern least-squares core (polishing and FPT)."""

import numpy as np
import pytest

import relulib as rl
from relulib._patterns import PatternLeastSquares


def _reference(F, Y):
    from scipy import linalg

    return linalg.lstsq(F, Y, lapack_driver="gelsd")[0]


@pytest.mark.parametrize("intercept", [False, True])
def test_pattern_solver_matches_a_qr_solve_as_the_pattern_changes(intercept):

    rng = np.random.default_rng(0)
    n, d, k = 5000, 12, 5
    X = rng.standard_normal((n, d))
    Xa = np.hstack([X, np.ones((n, 1))])
    Y = rng.standard_normal((n, 2))
    V = rng.standard_normal((k, d))
    solver = PatternLeastSquares(Xa, Y, intercept=intercept)
    for step, scale in enumerate([0.0, 0.01, 0.01, 0.5, 0.001]):  # small moves: updates; 0.5: rebuild
        V = V + scale * rng.standard_normal(V.shape)
        active = X @ V.T > 0
        keep = None if step < 3 else rng.random(n) > 0.1  # later calls also drop rows
        theta = solver.solve(active, keep)
        F = solver.design()
        assert F.shape == (n, k * (d + 1) + intercept)
        Yk = Y if keep is None else Y * keep[:, None]
        reference = _reference(F, Yk)
        assert np.max(np.abs(theta - reference)) < 1e-12 * np.max(np.abs(reference))
        assert np.allclose(solver.apply(theta), F @ theta, rtol=0, atol=1e-12)
    # a consistent system (noiseless data) is solved to rounding
    exact = rng.standard_normal((F.shape[1], 1))
    consistent = PatternLeastSquares(Xa, F @ exact, intercept=intercept)
    assert np.max(np.abs(consistent.solve(active, keep) - exact)) < 1e-13


def test_rank_deficient_patterns_are_solved_on_the_live_units():

    rng = np.random.default_rng(1)
    X = rng.standard_normal((3000, 6))
    Xa = np.hstack([X, np.ones((3000, 1))])
    Y = rng.standard_normal((3000, 1))
    active = X @ rng.standard_normal((3, 6)).T > 0
    active[:, 0] = False  # a unit that is never active: F^T F is singular
    theta = PatternLeastSquares(Xa, Y).solve(active)  # Cholesky fails
    assert np.max(np.abs(theta[:7])) < 1e-12  # the dead unit's block gets no weight
    F = (active[:, :, None] * Xa[:, None, :]).reshape(3000, -1)
    assert np.allclose(theta[7:], np.linalg.lstsq(F[:, 7:], Y, rcond=None)[0], rtol=0, atol=1e-12)
    # two units with the same pattern: the minimum-norm least-squares solution
    active[:, 0] = active[:, 1]
    theta = PatternLeastSquares(Xa, Y).solve(active)
    F = (active[:, :, None] * Xa[:, None, :]).reshape(3000, -1)
    assert np.allclose(theta, _reference(F, Y), rtol=0, atol=1e-10)


def test_fit_units_recovers_bias_free_units_and_the_offset(planted):
    net, X, Y = planted(5, 3, m=2, n=4000, seed=20)
    V = net.V / np.linalg.norm(net.V, axis=1, keepdims=True)
    W0 = V + 0.05 * np.random.default_rng(21).standard_normal(V.shape)
    U, W, offset, rss, iterations = PatternLeastSquares(X, Y + 0.7, intercept=True).fit_units(W0.copy(), 20)
    assert np.allclose(offset, 0.7, atol=1e-10) and rss < 1e-18 * np.sum(Y**2)
    fitted = rl.TwoLayerNetwork(U, W)
    assert rl.parameter_error(net, fitted) < 1e-9 and 1 <= iterations < 20
    # the check can fail: without the intercept the offset is not fitted
    _, _, off0, rss0, _ = PatternLeastSquares(X, Y + 0.7, intercept=False).fit_units(W0.copy(), 20)
    assert np.all(off0 == 0) and rss0 > 1.0


def test_single_precision_factor_is_refined_to_the_accuracy_of_a_qr_solve(monkeypatch):
    """With many unknowns per row (p^2 > 48 n m) the Cholesky factor is computed in single
    precision first; refinement with the true residual still gives the QR solution."""
    from scipy import linalg

    rng = np.random.default_rng(4)
    n, d, k = 2000, 30, 12  # p = k (d + 1) = 372 unknowns, p^2 > 48 n
    X = rng.standard_normal((n, d))
    Xa = np.hstack([X, np.ones((n, 1))])
    Y = rng.standard_normal((n, 1))
    active = X @ rng.standard_normal((k, d)).T + 0.3 > 0
    dtypes = []
    factor = linalg.cho_factor
    monkeypatch.setattr(linalg, "cho_factor", lambda G, **kw: dtypes.append(G.dtype) or factor(G, **kw))
    theta = PatternLeastSquares(Xa, Y).solve(active)
    assert dtypes == [np.float32]  # the single-precision factor sufficed
    F = (active[:, :, None] * Xa[:, None, :]).reshape(n, -1)
    reference = _reference(F, Y)
    assert np.max(np.abs(theta - reference)) < 1e-12 * np.max(np.abs(reference))
