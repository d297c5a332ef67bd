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
from scipy import linalg

from ._validation import as_network, as_positive_int, as_real_scalar, as_samples, as_targets, describe
from .networks import TwoLayerNetwork

__all__ = ["RefinementResult", "refine_by_patterns", "relative_residual", "CertificateWarning"]


class CertificateWarning(RuntimeWarning):
    """A recovery method could not certify its answer; the message states the residual."""


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


def relative_residual(net: TwoLayerNetwork, X, Y) -> float:
    """``|Y - net(X)|_F / |Y|_F``: the certificate of BJW19/ATV21 exact recovery.

    ``|Y|_F = 0`` gives the absolute residual ``|net(X)|_F``. Labels large enough
    for ``|Y|_F^2`` to overflow (about 1e154 and above) are divided by their
    largest entry first, so the ratio stays finite; predictions that overflow
    raise ``ValueError``.
    """
    as_network(net, "net")
    X = as_samples(X, "X", d=net.d)
    Y = as_targets(Y, X.shape[0], "Y")
    if Y.shape[1] != net.m:
        raise ValueError(f"Y: expected {net.m} output column(s), got shape {Y.shape}")
    R = Y - net.predict(X)
    with np.errstate(over="ignore"):
        scale = np.linalg.norm(Y)
        r = np.linalg.norm(R)
    if not (np.isfinite(scale) and np.isfinite(r)):
        # |Y|^2 overflowed (labels near 1e154 or larger): the same ratio with both
        # matrices divided by the largest label first.
        if not np.all(np.isfinite(R)):
            raise ValueError(
                "X: the network's predictions overflow (non-finite values) on these "
                "inputs; rescale X or the network"
            )
        s = max(float(np.max(np.abs(Y))), float(np.max(np.abs(R))))
        return float(np.linalg.norm(R / s) / np.linalg.norm(Y / s))
    return float(r / scale) if scale > 0 else float(r)


class _PatternLeastSquares:
    """Least squares over activation-pattern designs, re-solved as the pattern changes.

    For a pattern ``E`` (n x k, boolean) and kept rows ``w`` (n, boolean) the
    design matrix is

        F = [w * E_1 * x~, ..., w * E_k * x~ (, w)]        (n x (k q [+ 1]))

    where ``x~`` are the rows of ``Xa`` (``(x, 1)`` when biases are fitted; ``q``
    columns) and the last column, with ``intercept``, fits a constant offset.
    :meth:`solve` returns ``argmin |F theta - Y|``.

    Cost. ``F`` is tall (``n`` rows, a few hundred columns) and, once every
    unit is active on enough samples, well conditioned. The normal equations
    ``G theta = F^T Y`` with ``G = F^T F`` are kept between calls and updated
    only in the rows whose pattern changed (after the first iterations of the
    pattern iteration, a small fraction), so a call costs a Cholesky
    factorisation of ``G`` plus a few products with ``F``, which is never
    formed: ``F theta`` and ``F^T R`` are computed unit by unit from ``Xa``.
    Accuracy. Two or three steps of iterative refinement with the true
    residual, ``theta += G^{-1} F^T (Y - F theta)``, bring the solution to the
    accuracy of a QR solve (iterative refinement for least squares: Bjorck,
    *Numerical Methods for Least Squares Problems*, SIAM 1996); each step
    contracts the error by about ``cond(F)^2 eps``, and the refinement also
    removes the rounding that the updates of ``G`` accumulate. If the
    factorisation fails or the steps do not settle to rounding (a unit that is
    never active, two units with the same pattern), ``G`` is inverted on the
    span of its eigenvectors with eigenvalues above ``1e-10`` times the
    largest (directions along which ``cond(F) > 1e5`` are dropped, as a
    truncated SVD of ``F`` would), again with refinement; LAPACK's ``gelsy`` on
    the full ``F`` is the last resort.
    At ``n = 2e4`` with 510 unknowns a first solve is about 15 times cheaper
    than ``gelsy``, and later solves several times cheaper again.
    """

    _CHUNK = 8192  # rows of F formed at a time when G is built from scratch

    def __init__(self, Xa: np.ndarray, Y: np.ndarray, intercept: bool = False):
        self.Xa, self.Y, self.intercept = Xa, Y, bool(intercept)
        self._E = self._keep = self._G = self._FtY = None

    def _features(self, rows, E, keep) -> np.ndarray:
        Xr = self.Xa[rows]
        F = (E[:, :, None] * Xr[:, None, :]).reshape(Xr.shape[0], -1)
        if self.intercept:
            F = np.hstack([F, keep[:, None].astype(float)])
        return F

    def design(self) -> np.ndarray:
        """The full design matrix of the current pattern (for the fallback and for tests)."""
        return self._features(slice(None), self._E, self._keep)

    def _unit_blocks(self, theta):
        k, q = self._E.shape[1], self.Xa.shape[1]
        return theta[: k * q].reshape(k, q, -1)  # (k, q, m)

    def apply(self, theta: np.ndarray) -> np.ndarray:
        """``F theta`` without forming ``F``."""
        n, k = self._E.shape
        T = self._unit_blocks(theta)
        m = T.shape[2]
        H = (self.Xa @ T.transpose(1, 0, 2).reshape(-1, k * m)).reshape(n, k, m)  # x~_s . theta_i
        out = np.einsum("nk,nkm->nm", self._E.astype(float), H)
        if self.intercept:
            out += self._keep[:, None] * theta[-1]
        return out

    def _apply_transpose(self, R: np.ndarray) -> np.ndarray:
        """``F^T R`` without forming ``F``."""
        n, k = self._E.shape
        m = R.shape[1]
        W = (self._E[:, :, None] * R[:, None, :]).reshape(n, k * m)
        blocks = (self.Xa.T @ W).reshape(-1, k, m).transpose(1, 0, 2).reshape(-1, m)  # (k q, m)
        if self.intercept:
            blocks = np.vstack([blocks, (self._keep[:, None] * R).sum(axis=0, keepdims=True)])
        return blocks

    def _update_normal_equations(self, E, keep) -> None:
        n = E.shape[0]
        changed = None
        if self._G is not None:
            changed = np.flatnonzero(np.any(E != self._E, axis=1) | (keep != self._keep))
        if changed is None or changed.size > n // 2:  # from scratch (in chunks) is cheaper
            p = E.shape[1] * self.Xa.shape[1] + int(self.intercept)
            G, FtY = np.zeros((p, p)), np.zeros((p, self.Y.shape[1]))
            for start in range(0, n, self._CHUNK):
                rows = slice(start, start + self._CHUNK)
                F = self._features(rows, E[rows], keep[rows])
                G += F.T @ F
                FtY += F.T @ self.Y[rows]
            self._G, self._FtY = G, FtY
        elif changed.size:
            new = self._features(changed, E[changed], keep[changed])
            old = self._features(changed, self._E[changed], self._keep[changed])
            Yc = self.Y[changed]
            self._G += new.T @ new - old.T @ old
            self._FtY += new.T @ Yc - old.T @ Yc
        self._E, self._keep = E, keep

    def _refined(self, inverse, keep) -> np.ndarray | None:
        """Solve ``G theta = F^T Y`` with ``inverse`` and refine with the true residual.

        Returns ``None`` if the steps do not settle to rounding.
        """
        theta = inverse(self._FtY)
        previous = np.inf
        for _ in range(6):
            R = self.Y * keep[:, None] - self.apply(theta)
            delta = inverse(self._apply_transpose(R))
            theta += delta
            step, size = np.linalg.norm(delta), np.linalg.norm(theta)
            if not np.isfinite(step + size):
                return None
            # settled: the step no longer shrinks (it is at the rounding floor
            # ~ cond(F) eps) and is far below the solution
            if step <= np.finfo(float).eps * size or (step > 0.25 * previous and step <= 1e-10 * size):
                return theta
            previous = step
        return None

    def solve(self, active: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
        """``argmin |F theta - Y|`` for the pattern ``active`` (n x k) on the rows ``keep``."""
        keep = np.ones(active.shape[0], dtype=bool) if keep is None else keep
        self._update_normal_equations(active & keep[:, None], keep)
        theta = None
        try:
            factor = linalg.cho_factor(self._G, check_finite=False)
        except linalg.LinAlgError:
            factor = None
        if factor is not None:
            theta = self._refined(lambda b: linalg.cho_solve(factor, b, check_finite=False), keep)
        if theta is None:  # rank deficient: truncated eigendecomposition of G, then refinement
            w, Q = linalg.eigh(self._G, check_finite=False)
            Qr = Q[:, w > 1e-10 * max(w[-1], np.finfo(float).tiny)]  # drops directions with cond(F) > 1e5
            wr = w[w > 1e-10 * max(w[-1], np.finfo(float).tiny)]
            theta = self._refined(lambda b: Qr @ ((Qr.T @ b) / wr[:, None]), keep)
        if theta is None:
            theta = linalg.lstsq(self.design(), self.Y * keep[:, None], lapack_driver="gelsy",
                                 check_finite=False)[0]
        return theta


def _units_from_products(Z: np.ndarray, old: TwoLayerNetwork, fit_bias: bool):
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
        b[i] = sign * w[d] / norm if fit_bias else 0.0
    return TwoLayerNetwork(U, V, b, old.activation)


def refine_by_patterns(
    net, X, Y, *, fit_bias=True, max_iter=50, margin=0.0, tol=1e-12, patience=8
) -> RefinementResult:
    """Polish a ReLU network by activation-pattern least squares.

    Parameters
    ----------
    net : TwoLayerNetwork
        Initial estimate (ReLU activation).
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,), (n, 1) or (n, m)
    fit_bias : bool, default True
        Fit biases; with ``False`` every ``b_i`` is held at zero (BJW19's model).
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
    max_iter = as_positive_int(max_iter, "max_iter")
    patience = as_positive_int(patience, "patience")
    margin = as_real_scalar(margin, "margin", low=0.0, what="a non-negative number")
    unknowns = net.k * (net.d + int(fit_bias))

    current = net.normalized()
    if not fit_bias:
        current = TwoLayerNetwork(current.U, current.V, None, current.activation)
    solver = _PatternLeastSquares(np.hstack([X, np.ones((X.shape[0], 1))]) if fit_bias else X, Y)
    previous_active = None
    converged = False
    scale = float(np.linalg.norm(Y)) or 1.0
    best, best_residual, history = current, np.inf, []
    it = 0
    for it in range(1, max_iter + 1):
        pre = X @ current.V.T + current.b
        active = pre > 0
        keep = np.all(np.abs(pre) > margin, axis=1) if margin > 0 else None
        used = X.shape[0] if keep is None else int(keep.sum())
        if used < unknowns:
            raise ValueError(
                f"X: expected at least {unknowns} samples outside the margin for "
                f"{unknowns} unknowns, got {used}"
            )
        theta = solver.solve(active, keep)
        Z = theta.reshape(net.k, net.d + int(fit_bias), net.m).transpose(0, 2, 1)
        new = _units_from_products(Z, current, fit_bias)
        step = max(
            float(np.max(np.abs(new.U - current.U))),
            float(np.max(np.abs(new.V - current.V))),
            float(np.max(np.abs(new.b - current.b))),
        )
        current = new
        if step <= tol or (previous_active is not None and np.array_equal(active, previous_active)):
            converged = True
            break
        previous_active = active
        residual = float(np.linalg.norm(Y - current.predict(X))) / scale
        if residual < best_residual:
            best, best_residual = current, residual
        history.append(best_residual)
        if len(history) > patience and best_residual > 0.99 * history[-1 - patience]:
            break  # less than 1% progress in `patience` iterations
    if not converged:
        current = best
    return RefinementResult(current, it, converged, relative_residual(current, X, Y))
