"""The baseline a practitioner would pick instead: Adam on the square loss.

The comparison of the chapter "Against gradient descent": train a network of the
*true* width ``k`` by gradient descent (Adam: Kingma & Ba, ICLR 2015, Algorithm 1)
on the square loss

    L(U, V, b) = 1/(2 n) sum_s |y_s - U relu(V x_s + b)|^2,

from a random start (or from a given network, e.g. a tensor-method estimate:
"tensor start + gradient"), with full batches or mini-batches, a step budget
and a wall-clock budget. Pure numpy; the gradients are analytic.

With pre-activations ``H = X V^T + b`` (n, k), hidden values ``A = relu(H)``,
residuals ``R = A U^T - Y`` (n, m) and ``G = (R U) * 1{H > 0}`` (n, k):

    dL/dU = R^T A / n,    dL/dV = G^T X / n,    dL/db = 1^T G / n.

At ``H = 0`` the ReLU has no derivative; the code uses 0 there (the
subgradient every deep-learning library uses). With Gaussian inputs this
happens with probability 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    as_finite_array,
    as_network,
    as_positive_int,
    as_rng,
    as_samples,
    as_targets,
    check_array_entries,
    check_finite_result,
    )
from .networks import TwoLayerNetwork

__all__ = ["LossGradient", "GradientDescentResult", "square_loss_gradient", "fit_adam"]


@dataclass(frozen=True)
class LossGradient:
    """The square loss of a network and its gradient, from :func:`square_loss_gradient`.

    Attributes
    ----------
    loss : float
        ``1/(2n) sum_s |y_s - net(x_s)|^2``.
    dU : ndarray of shape (m, k)
    dV : ndarray of shape (k, d)
    db : ndarray of shape (k,)
    """

    loss: float
    dU: np.ndarray
    dV: np.ndarray
    db: np.ndarray


@dataclass(frozen=True)
class GradientDescentResult:
    """Outcome of :func:`fit_adam`.

    Attributes
    ----------
    network : TwoLayerNetwork
        The last iterate (not normalised).
    losses : ndarray of shape (steps,)
        Loss before each step: the full-batch loss with full batches, the
        mini-batch loss with mini-batches.
    final_loss : float
        Full-batch loss of ``network`` on all of ``X``.
    steps : int
        Adam steps taken.
    seconds : float
        Wall time of the optimisation loop.
    stopped_by : str
        ``"steps"`` (step budget used up), ``"time"`` (wall-clock budget hit)
        or ``"loss"`` (loss reached ``loss_tol``).
    """

    network: TwoLayerNetwork
    losses: np.ndarray
    final_loss: float
    steps: int
    seconds: float
    stopped_by: str


def _loss_and_gradient(U, V, b, X, Y, bias=True):
    """Square loss ``|A U^T - Y|^2 / (2n)`` and its analytic gradient (module docstring)."""
    n = X.shape[0]
    H = X @ V.T + b
    A = np.maximum(H, 0.0)
    R = A @ U.T - Y
    loss = 0.5 * float(np.vdot(R, R)) / n
    G = (R @ U) * (H > 0)
    dU = R.T @ A / n
    dV = G.T @ X / n
    db = G.sum(axis=0) / n if bias else np.zeros_like(b)
    return loss, dU, dV, db


def _check_relu(net, name):
    as_network(net, name)
    if net.activation.name != "relu":
        raise ValueError(
            f"{name}: the analytic gradient is for the ReLU, got activation {net.activation.name!r}"
        )


def square_loss_gradient(net: TwoLayerNetwork, X: ArrayLike, Y: ArrayLike) -> LossGradient:
    """Square loss of a ReLU network and its analytic gradient.

    ``L = 1/(2n) sum_s |y_s - U relu(V x_s + b)|^2``; the gradient formulas are
    in the module docstring.

    Parameters
    ----------
    net : TwoLayerNetwork
        ReLU network with ``m`` outputs.
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,) or (n, m)

    Returns
    -------
    LossGradient

    Raises
    ------
    ValueError
        If ``net`` is not a ReLU network, or on bad shapes or non-finite values.

    Examples
    --------
    >>> import relulib as rl
    >>> net = rl.random_network(3, 2, bias_scale=0.5, rng=0)
    >>> X, Y = rl.gaussian_samples(net, 100, rng=1)
    >>> g = square_loss_gradient(net, X, Y)
    >>> g.loss, float(np.abs(g.dV).max())
    (0.0, 0.0)
    """
    _check_relu(net, "net")
    X = as_samples(X, "X", d=net.d)
    Y = as_targets(Y, X.shape[0], "Y")
    if Y.shape[1] != net.m:
        raise ValueError(f"Y: expected {net.m} output column(s) like net, got shape {Y.shape}")
    return LossGradient(*_loss_and_gradient(net.U, net.V, net.b, X, Y))


def _random_start(d, k, m, rng):
    """Standard random start: unit rows of V, ``U ~ N(0, 1/k)``, zero biases."""
    V = rng.standard_normal((k, d))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    U = rng.standard_normal((m, k)) / np.sqrt(k)
    return U, V, np.zeros(k)


def fit_adam(
    X: ArrayLike, Y: ArrayLike, k: int, *, start: TwoLayerNetwork | None = None,
    bias: bool = True, max_steps: int = 2000, max_seconds: float | None = None,
    learning_rate: float = 1e-2, batch_size: int | None = None, loss_tol: float = 0.0,
    beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
    rng: int | np.random.Generator | None = None,
) -> GradientDescentResult:
    """Train a ReLU network of width ``k`` with Adam on the square loss.

    Minimises ``L = 1/(2n) sum_s |y_s - U relu(V x_s + b)|^2`` over
    ``(U, V, b)`` with Adam (Kingma & Ba 2015, Algorithm 1, with bias
    correction), from a random start or from ``start``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n,), (n, 1) or (n, m)
    k : int
        Width of the trained network (the true width in the book's experiments).
    start : TwoLayerNetwork, optional
        Initial network ("tensor start + gradient"); its shape must be
        ``(d, k, m)``. Default: the random start: rows of ``V`` uniform on the
        unit sphere, ``U`` with ``N(0, 1/k)`` entries, ``b = 0``.
    bias : bool, default True
        Train biases; with ``False`` they stay at zero (BJW19's model).
    max_steps : int, default 2000
        Step budget.
    max_seconds : float, optional
        Wall-clock budget of the loop. The run is deterministic under ``rng``
        *unless this budget is hit*: then the number of steps depends on the
        machine's speed and load (``stopped_by == "time"`` says so).
    learning_rate : float, default 0.01
    batch_size : int, optional
        Mini-batch size; ``None`` (or ``>= n``) means full batches. Mini-batches
        are drawn without replacement, a fresh permutation of the samples each
        epoch, from ``rng``.
    loss_tol : float, default 0
        Stop when the loss of a step falls to ``loss_tol`` or below.
    beta1, beta2, eps : float
        Adam's moment decay rates and stabiliser.
    rng : None, int or numpy.random.Generator
        Source of the random start and of the mini-batches.

    Returns
    -------
    GradientDescentResult

    Raises
    ------
    ValueError
        On bad shapes or values; the message names the parameter.
        ``max_steps`` is refused before any allocation if the array it sizes would have
        more than ``MAX_ARRAY_ENTRIES`` (2**31) entries.
        ``k`` is refused before any allocation if the array it sizes would have more
        than ``MAX_ARRAY_ENTRIES`` (2**31) entries.

    See Also
    --------
    square_loss_gradient : The gradient it follows.
    recover_with_bias : The provable method it is compared with.
    recover_noisy : BJW19's noisy pipeline.

    References
    ----------
    * Kingma and Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015,
      arXiv:1412.6980.
    * Awasthi, Tang and Vijayaraghavan, *Efficient Algorithms for Learning Depth-2
      Neural Networks with General ReLU Activations*, NeurIPS 2021 (ATV21), arXiv:2107.10209.

    Examples
    --------
    >>> import relulib as rl
    >>> true = rl.random_network(4, 2, bias_scale=0.5, rng=0)
    >>> X, Y = rl.gaussian_samples(true, 2000, rng=1)
    >>> res = fit_adam(X, Y, 2, max_steps=300, rng=2)
    >>> res.steps, res.stopped_by, bool(res.losses[-1] < res.losses[0])
    (300, 'steps', True)
    """
    X = as_samples(X, "X")
    n, d = X.shape
    Y = as_targets(Y, n, "Y")
    m = Y.shape[1]
    k = as_positive_int(k, "k")
    check_array_entries("k", (k, d + m + 1), "network's parameters (k, d + m + 1)")
    max_steps = as_positive_int(max_steps, "max_steps")
    check_array_entries("max_steps", (max_steps,), "loss history (one entry per step)")
    if max_seconds is not None:
        max_seconds = float(as_finite_array(max_seconds, "max_seconds", ndim=0))
        if max_seconds <= 0:
            raise ValueError(f"max_seconds: expected a positive number of seconds, got {max_seconds}")
    learning_rate = float(as_finite_array(learning_rate, "learning_rate", ndim=0))
    if learning_rate <= 0:
        raise ValueError(f"learning_rate: expected a positive step size, got {learning_rate}")
    loss_tol = float(as_finite_array(loss_tol, "loss_tol", ndim=0))
    if loss_tol < 0:
        raise ValueError(f"loss_tol: expected a non-negative number, got {loss_tol}")
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        beta = float(as_finite_array(beta, name, ndim=0))
        if not 0 <= beta < 1:
            raise ValueError(f"{name}: expected a decay rate in [0, 1), got {beta}")
    eps = float(as_finite_array(eps, "eps", ndim=0))
    if eps <= 0:
        raise ValueError(f"eps: expected a positive number, got {eps}")
    if batch_size is not None:
        batch_size = min(as_positive_int(batch_size, "batch_size"), n)
    rng = as_rng(rng)
    if start is None:
        U, V, b = _random_start(d, k, m, rng)
    else:
        _check_relu(start, "start")
        if (start.d, start.k, start.m) != (d, k, m):
            raise ValueError(
                f"start: expected a network of shape (d, k, m) = {(d, k, m)}, "
                f"got {(start.d, start.k, start.m)}"
            )
        U, V, b = start.U.copy(), start.V.copy(), start.b.copy()
    if not bias:
        b = np.zeros(k)

    params = [U, V, b]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    full = batch_size is None or batch_size >= n
    order, cursor = None, n
    losses = np.empty(max_steps)
    stopped_by = "steps"
    steps = 0
    t0 = time.perf_counter()
    for t in range(1, max_steps + 1):
        if full:
            Xb, Yb = X, Y
        else:
            if cursor + batch_size > n:  # new epoch: fresh permutation
                order, cursor = rng.permutation(n), 0
            idx = order[cursor : cursor + batch_size]
            cursor += batch_size
            Xb, Yb = X[idx], Y[idx]
        loss, *grads = _loss_and_gradient(U, V, b, Xb, Yb, bias)
        losses[t - 1] = loss
        steps = t
        if loss <= loss_tol:
            stopped_by = "loss"
            steps = t - 1  # the step was not taken
            losses = losses[:t]
            break
        # Kingma & Ba (2015), Algorithm 1, in place.
        c1, c2 = 1.0 - beta1**t, 1.0 - beta2**t
        for p, g, m1, m2 in zip(params, grads, first, second):
            m1 *= beta1
            m1 += (1.0 - beta1) * g
            m2 *= beta2
            m2 += (1.0 - beta2) * g * g
            p -= learning_rate * (m1 / c1) / (np.sqrt(m2 / c2) + eps)
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            stopped_by = "time"
            losses = losses[:t]
            break
    else:
        losses = losses[:steps]
    seconds = time.perf_counter() - t0
    for p in params:
        check_finite_result(p, "the parameters of the fit", inputs="X, learning_rate",
                            hint="the iterates diverged: use a smaller learning_rate or rescale X")
    net = TwoLayerNetwork(U, V, b if bias else None)
    final_loss = _loss_and_gradient(U, V, b, X, Y, bias)[0]
    return GradientDescentResult(net, losses, final_loss, steps, seconds, stopped_by)
