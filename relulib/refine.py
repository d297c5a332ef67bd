"""Activation-pattern least squares: polishing an approximate ReLU network.

the book's appendix "How the algorithms were reconstructed", polishing: an extension
that none of the three papers states for biased networks. A ReLU network is piecewise linear: once
the activation pattern ``1{v_i.x + b_i > 0}`` of every sample is fixed,

    y = sum_{i active} u_i (v_i.x + b_i)

is *linear* in the products ``Z_i = u_i (v_i, b_i)^T`` (an ``m x (d+1)``
matrix per unit). So: compute the patterns from the current estimate, solve
one least-squares problem for all ``Z_i``, read ``u_i, v_i, b_i`` back from
the best rank-one approximation of each ``Z_i`` (exact for ``m = 1``),
re-normalise, and repeat until the patterns stop changing.

From an estimate whose units lie close enough to the truth that most patterns
are right, the iteration reaches the true network to rounding on noiseless data.
With noise it converges to the least-squares fit for the final pattern, which
is the statistical benchmark ("oracle") when that pattern is the true one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._patterns import PatternLeastSquares
from ._threads import single_blas_thread
from ._validation import (
    as_bool, as_network, as_positive_int, as_real_scalar, as_repetitions, as_row_indices, as_samples,
    as_targets,
)
from .certificate import relative_residual
from .networks import TwoLayerNetwork

__all__ = ["RefinementResult", "refine_by_patterns"]


@dataclass(frozen=True)
class RefinementResult:
    """Outcome of :func:`refine_by_patterns`.

    Attributes
    ----------
    network : TwoLayerNetwork
        The refined network, rows of ``V`` at unit norm.
    n_iter : int
        Iterations performed.
    converged : bool
        Whether the activation pattern, or the parameters to within ``tol``,
        stopped changing.
    residual : float
        Relative residual ``|Y - net(X)|_F / |Y|_F`` on the data used.
    """

    network: TwoLayerNetwork
    n_iter: int
    converged: bool
    residual: float


def _units_from_products(Z: np.ndarray, old: TwoLayerNetwork, bias: bool):
    """Read ``u_i, v_i, b_i`` from ``Z_i ~ u_i (v_i, b_i)^T``, oriented like the old units."""
    k, d = old.k, old.d
    U, V, b = old.U.copy(), old.V.copy(), old.b.copy()
    for i in range(k):
        left, s, right_t = np.linalg.svd(Z[i], full_matrices=False)
        u = left[:, 0] * s[0]
        w = right_t[0]
        wv = w[:d]
        norm = np.linalg.norm(wv)
        if s[0] == 0 or norm == 0:  # unit never active: keep it as it was
            continue
        sign = 1.0 if wv @ old.V[i] >= 0 else -1.0  # keep the half-space of the pattern
        V[i] = sign * wv / norm
        U[:, i] = sign * u * norm
        b[i] = sign * w[d] / norm if bias else 0.0
    return TwoLayerNetwork(U, V, b, old.activation)


@single_blas_thread  # many small solves: one BLAS thread is faster (relulib._threads)
def refine_by_patterns(
    net: TwoLayerNetwork, X: ArrayLike, Y: ArrayLike, *, bias: bool = True, max_iter: int = 50,
    margin: float = 0.0, tol: float = 1e-12, patience: int = 8, rows: ArrayLike | None = None,
) -> RefinementResult:
    """Polish a ReLU network by activation-pattern least squares.

    Parameters
    ----------
    net : TwoLayerNetwork
        Initial estimate (ReLU activation).
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,), (n, 1) or (n, m)
    bias : bool, default True
        Fit biases; with ``False`` every ``b_i`` is held at zero (BJW19's model).
        (The same switch is called ``bias`` in :func:`relulib.recover_noisy` and
        :func:`relulib.fit_adam`.)
    max_iter : int, default 50
    margin : float, default 0
        Use only samples whose every pre-activation satisfies
        ``|v_i.x + b_i| > margin`` under the current estimate; near the
        boundaries the current pattern is least trustworthy.
    tol : float, default 1e-12
        Also stop when no parameter moves by more than ``tol`` in an
        iteration (with noise, a few boundary samples may flip forever).
    patience : int, default 8
        Stop, unconverged, when the best residual so far has improved by less
        than 1% in the last ``patience`` iterations: from a poor start the
        pattern iteration may cycle, creep, or drift towards degenerate units
        whose least-squares problems are rank deficient.
    rows : array_like of int, optional
        Fit only the samples ``X[rows]``, ``Y[rows]`` (e.g. a training part),
        fancy-indexed a chunk at a time: no copy of ``X[rows]`` is made.

    Returns
    -------
    RefinementResult
        On convergence the last iterate; otherwise (``max_iter`` reached or
        out of patience) the iterate with the smallest residual.

    Raises
    ------
    ValueError
        On bad shapes, non-finite values, a non-ReLU network, or fewer usable
        samples than unknowns.
        ``max_iter`` above ``MAX_REPETITIONS`` (10**6) is refused before any work.

    Notes
    -----
    Memory: every pass over the samples works on chunks of rows (a few MiB
    of work arrays, whatever ``n``) and the bias column of ``x~ = (x, 1)`` is
    implicit, so that what is kept for all ``n`` samples is a few activation
    patterns (``n x k`` booleans, each ``k / (8 d)`` times the size of ``X``)
    and no copy of ``X`` or ``Y``.

    Examples
    --------
    >>> from relulib import random_network, gaussian_samples, parameter_error
    >>> true = random_network(4, 2, bias_scale=0.5, rng=0)
    >>> X, Y = gaussian_samples(true, 4000, rng=1)
    >>> rough = TwoLayerNetwork(true.U + 0.05, true.V + 0.05, true.b - 0.05)
    >>> res = refine_by_patterns(rough, X, Y)
    >>> parameter_error(true, res.network) < 1e-10
    True
    """
    as_network(net, "net")
    if net.activation.name != "relu":
        raise ValueError(
            "net: activation-pattern least squares needs the piecewise-linear ReLU, "
            f"got activation {net.activation.name!r}"
        )
    X = as_samples(X, "X", d=net.d)
    Y = as_targets(Y, X.shape[0], "Y")
    if Y.shape[1] != net.m:
        raise ValueError(f"Y: expected {net.m} output column(s) like net, got shape {Y.shape}")
    max_iter = as_repetitions(max_iter, "max_iter")
    patience = as_positive_int(patience, "patience")
    margin = as_real_scalar(margin, "margin", low=0.0, what="a non-negative number")
    tol = as_real_scalar(tol, "tol", low=0.0, what="a non-negative number")
    bias = as_bool(bias, "bias")
    if rows is not None:
        rows = as_row_indices(rows, X.shape[0])
    unknowns = net.k * (net.d + int(bias))

    current = net.normalized()
    if not bias:
        current = TwoLayerNetwork(current.U, current.V, None, current.activation)
    solver = PatternLeastSquares(X, Y, bias_column=bias, rows=rows)
    previous_active = previous_keep = None
    converged = False
    scale = float(np.sqrt(solver.sum_of_squares())) or 1.0
    best, best_residual, history = current, np.inf, []
    it = 0
    for it in range(1, max_iter + 1):
        active, keep = solver.pattern(current.V, current.b, margin)
        if previous_active is not None and np.array_equal(active, previous_active) and (
                keep is None or np.array_equal(keep, previous_keep)):
            # the pattern (and rows) of the last solve, so its solution again: converged
            converged = True
            break
        used = solver.n if keep is None else int(keep.sum())
        if used < unknowns:
            raise ValueError(
                f"{'X, margin' if margin > 0 else 'X'}: expected at least {unknowns} samples "
                f"outside the margin for "
                f"{unknowns} unknowns, got {used}"
            )
        theta = solver.solve(active, keep)
        Z = theta.reshape(net.k, net.d + int(bias), net.m).transpose(0, 2, 1)
        new = _units_from_products(Z, current, bias)
        step = max(
            float(np.max(np.abs(new.U - current.U))),
            float(np.max(np.abs(new.V - current.V))),
            float(np.max(np.abs(new.b - current.b))),
        )
        current = new
        if step <= tol:
            converged = True
            break
        previous_active, previous_keep = active, keep
        residual = float(np.sqrt(solver.sum_of_squares(current.predict))) / scale
        if residual < best_residual:
            best, best_residual = current, residual
        history.append(best_residual)
        if len(history) > patience and best_residual > 0.99 * history[-1 - patience]:
            break  # less than 1% progress in `patience` iterations
    if not converged:
        current = best
    return RefinementResult(current, it, converged, relative_residual(current, X, Y, rows=rows))
