"""Two-layer networks with rectified activations, and Gaussian samples from them.

One network object serves both papers (see the notation table in the package
docstring):

* BJW19: ``Y = U* f(V* X)`` with ``U* (m x k)``, ``V* (k x d)``, ``X (d x n)``.
* ATV21: ``f(x) = a^T sigma(W^T x + b)`` with ``a = U[0]``, ``W = V^T``.

relulib stores samples as rows: ``X`` has shape ``(n, d)`` and
``predict(X)`` has shape ``(n, m)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from numpy.typing import ArrayLike

from ._validation import (
    InputTypeError,
    as_finite_array,
    as_network,
    as_real_scalar,
    as_positive_int,
    as_rng,
    check_array_entries,
    as_samples,
    describe,
)

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "get_activation",
    "TwoLayerNetwork",
    "random_network",
    "gaussian_samples",
    "DepthThreeNetwork",
]


@dataclass(frozen=True)
class Activation:
    """A rectified activation: ``f(t) = 0`` for ``t <= 0`` and ``f(t) > 0`` for ``t > 0``.

    Attributes
    ----------
    name : str
    function : callable
        Vectorised ``f``.
    inverse : callable or None
        Inverse of ``f`` on ``(0, inf)`` (on ``f``'s range); BJW19's exact step
        needs it. ``None`` when unknown.
    degree : float or None
        Degree ``p`` of positive homogeneity, ``f(c t) = c^p f(t)`` for
        ``c > 0``; ``None`` if ``f`` is not homogeneous. Only homogeneous
        activations have the scaling symmetry that :meth:`TwoLayerNetwork.normalized`
        removes.
    """

    name: str
    function: Callable[[np.ndarray], np.ndarray]
    inverse: Optional[Callable[[np.ndarray], np.ndarray]] = None
    degree: Optional[float] = None

    def __call__(self, t: ArrayLike) -> np.ndarray:
        return self.function(t)


def _relu(t):
    return np.maximum(t, 0.0)


def _squared_relu(t):
    return np.maximum(t, 0.0) ** 2


def _rectified_tanh(t):
    return np.tanh(np.maximum(t, 0.0))


#: The named rectified activations.
ACTIVATIONS = {
    "relu": Activation("relu", _relu, inverse=lambda s: np.asarray(s, dtype=float), degree=1.0),
    "squared_relu": Activation("squared_relu", _squared_relu, inverse=np.sqrt, degree=2.0),
    "rectified_tanh": Activation("rectified_tanh", _rectified_tanh, inverse=np.arctanh, degree=None),
}


def get_activation(activation: str | Activation) -> Activation:
    """Resolve a name, an :class:`Activation` or a callable to an :class:`Activation`.

    A plain callable is checked to be rectified on a grid of points; it gets
    no inverse and no homogeneity degree.

    Parameters
    ----------
    activation : str, Activation or callable
        A name of :data:`ACTIVATIONS` (e.g. ``"relu"``), an :class:`Activation`, or a
        rectified function of one array argument.

    Returns
    -------
    Activation
        The resolved activation.

    Raises
    ------
    TypeError
        ``activation`` not a name, an :class:`Activation` or a callable.
    ValueError
        An unknown name, or a callable that is not vectorised with finite values
        or not rectified (``f(t) = 0`` for ``t <= 0``, ``f(t) > 0`` for ``t > 0``,
        checked on ``[-3, 3]``).
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]
        except KeyError:
            raise ValueError(
                f"activation: expected one of {sorted(ACTIVATIONS)} or a callable, "
                f"got {activation!r}"
            ) from None
    if callable(activation):
        grid = np.linspace(-3.0, 3.0, 61)
        values = np.asarray(activation(grid), dtype=float)
        if values.shape != grid.shape or not np.all(np.isfinite(values)):
            raise ValueError(
                "activation: expected a vectorised callable returning finite values of "
                f"the input's shape, got {describe(values)} on a grid of shape {grid.shape}"
            )
        if np.any(values[grid <= 0] != 0) or np.any(values[grid > 0] <= 0):
            raise ValueError(
                "activation: expected a rectified function (f(t) = 0 for t <= 0 and "
                "f(t) > 0 for t > 0), got a callable that violates this on [-3, 3]"
            )
        name = getattr(activation, "__name__", "custom")
        return Activation(name, activation)
    raise InputTypeError(
        f"activation: expected a name, an Activation or a callable, got {describe(activation)}"
    )


class TwoLayerNetwork:
    """The network ``x -> U act(V x + b)``.

    Parameters
    ----------
    U : array_like of shape (m, k) or (k,)
        Output weights (BJW19's ``U*``; ATV21's ``a`` is ``U[0]``). A 1-D
        array is a single output, ``m = 1``.
    V : array_like of shape (k, d)
        First-layer weights, one hidden unit per row (BJW19's ``V*``;
        ATV21's ``W^T``).
    b : array_like of shape (k,), optional
        Biases; ``None`` means zeros.
    activation : str, Activation or callable
        ``"relu"`` (default), ``"squared_relu"``, ``"rectified_tanh"``, or any
        rectified function.

    Attributes
    ----------
    U, V, b : ndarray
    activation : Activation
    d, k, m : int
        Input dimension, hidden units, outputs.

    Raises
    ------
    TypeError
        Non-numeric ``U``, ``V`` or ``b``, or an ``activation`` that is not a
        name, an :class:`Activation` or a callable.
    ValueError
        ``V`` not a finite (k, d) array with ``k, d >= 1``, ``U`` not finite with
        ``k`` columns and at least one row, ``b`` not finite of shape (k,), or an
        unknown or unsuitable ``activation`` (see :func:`get_activation`).

    Examples
    --------
    >>> net = TwoLayerNetwork([[1.0, -2.0]], [[1.0, 0.0], [0.0, 1.0]])
    >>> net.predict(np.array([[1.0, 1.0]])).tolist()
    [[-1.0]]
    """

    def __init__(
        self, U: ArrayLike, V: ArrayLike, b: ArrayLike | None = None,
        activation: str | Activation = "relu",
    ) -> None:
        V = as_finite_array(V, "V", ndim=2)
        k, d = V.shape
        if k == 0 or d == 0:
            raise ValueError(f"V: expected at least one unit and one input, got shape {V.shape}")
        U = as_finite_array(U, "U", ndim=(1, 2))
        if U.ndim == 1:
            U = U[None, :]
        if U.shape[1] != k:
            raise ValueError(
                f"U: expected {k} columns (one per hidden unit, the rows of V), got shape {U.shape}"
            )
        if U.shape[0] == 0:
            raise ValueError(f"U: expected at least one output (row), got shape {U.shape}")
        b = np.zeros(k) if b is None else as_finite_array(b, "b", shape=(k,))
        # Own copies: the caller's arrays can change later without changing the network.
        self.U = np.array(U, dtype=float, copy=True)
        self.V = np.array(V, dtype=float, copy=True)
        self.b = np.array(b, dtype=float, copy=True)
        self.activation = get_activation(activation)

    # Shapes -----------------------------------------------------------------
    @property
    def d(self) -> int:
        """Input dimension."""
        return self.V.shape[1]

    @property
    def k(self) -> int:
        """Number of hidden units."""
        return self.V.shape[0]

    @property
    def m(self) -> int:
        """Number of outputs."""
        return self.U.shape[0]

    # ATV21 names --------------------------------------------------------------
    @property
    def a(self) -> np.ndarray:
        """ATV21's output weights ``a`` (single-output networks only)."""
        if self.m != 1:
            raise ValueError(f"a: defined for single-output networks, got m={self.m} outputs")
        return self.U[0]

    @property
    def W(self) -> np.ndarray:
        """ATV21's ``W = V^T``, shape (d, k): one unit per column."""
        return self.V.T

    # Evaluation ---------------------------------------------------------------
    def hidden(self, X: ArrayLike) -> np.ndarray:
        """Hidden-layer activations ``act(X V^T + b)``, shape (n, k).

        Parameters
        ----------
        X : array_like of shape (n, d) or (d,)
            Samples, one per row.

        Returns
        -------
        numpy.ndarray of shape (n, k)
            The hidden activations.

        Raises
        ------
        ValueError
            ``X`` not finite with ``d`` columns.
        """
        X = as_samples(np.atleast_2d(X), "X", d=self.d)
        return self.activation(X @ self.V.T + self.b)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Network output for samples ``X`` of shape (n, d) (or one sample of shape (d,)).

        Parameters
        ----------
        X : array_like of shape (n, d) or (d,)
            Samples, one per row.

        Returns
        -------
        numpy.ndarray
            Outputs of shape (n, m), or (m,) for one sample.
        """
        single = np.ndim(X) == 1
        out = self.hidden(X) @ self.U.T
        return out[0] if single else out

    __call__ = predict

    # Symmetries -----------------------------------------------------------------
    def normalized(self) -> "TwoLayerNetwork":
        """The same function with unit-norm rows of ``V``.

        For an activation homogeneous of degree ``p``,
        ``u act(v.x + b) = u |v|^p act(v.x/|v| + b/|v|)``, so the scale moves into
        ``U`` and ``b`` (ATV21, "Normalisation").

        Returns
        -------
        TwoLayerNetwork
            The normalised network.

        Raises
        ------
        ValueError
            If the activation is not positively homogeneous or a row of ``V`` is zero.
        """
        p = self.activation.degree
        if p is None:
            raise ValueError(
                f"activation: normalisation needs a positively homogeneous activation, "
                f"got {self.activation.name!r}"
            )
        norms = np.linalg.norm(self.V, axis=1)
        if np.any(norms == 0):
            raise ValueError(f"V: cannot normalise zero rows, got zero rows {np.flatnonzero(norms == 0).tolist()}")
        return TwoLayerNetwork(
            self.U * norms**p, self.V / norms[:, None], self.b / norms, self.activation
        )

    def permuted(self, perm: ArrayLike) -> "TwoLayerNetwork":
        """The same function with hidden units reordered by ``perm``.

        Parameters
        ----------
        perm : array_like of int, shape (k,)
            A permutation of ``range(k)``; unit ``i`` of the result is unit ``perm[i]``.

        Returns
        -------
        TwoLayerNetwork
            The permuted network.

        Raises
        ------
        TypeError
            ``perm`` not a 1-D integer array.
        ValueError
            ``perm`` not a permutation of ``range(k)``.
        """
        perm = np.asarray(perm)
        if perm.ndim != 1 or not (perm.size == 0 or np.issubdtype(perm.dtype, np.integer)):
            raise InputTypeError(f"perm: expected a 1-D integer array, got {describe(perm)}")
        if sorted(perm.tolist()) != list(range(self.k)):
            raise ValueError(f"perm: expected a permutation of range({self.k}), got {perm.tolist()}")
        return TwoLayerNetwork(self.U[:, perm], self.V[perm], self.b[perm], self.activation)

    def copy(self) -> "TwoLayerNetwork":
        """A copy with its own arrays.

        Returns
        -------
        TwoLayerNetwork
            The copy.
        """
        return TwoLayerNetwork(self.U.copy(), self.V.copy(), self.b.copy(), self.activation)

    def __repr__(self) -> str:
        return (
            f"TwoLayerNetwork(d={self.d}, k={self.k}, m={self.m}, "
            f"activation={self.activation.name!r}, biased={bool(np.any(self.b != 0))})"
        )


def random_network(
    d: int, k: int, m: int = 1, *, bias_scale: float = 0.0,
    activation: str | Activation = "relu", rng: int | np.random.Generator | None = None,
) -> TwoLayerNetwork:
    """A random network with unit-norm hidden units.

    * rows of ``V`` uniform on the unit sphere of ``R^d``;
    * entries of ``U`` with random signs and magnitudes uniform in [0.5, 1.5],
      so no output weight is close to zero (ATV21 needs ``a_i != 0``);
    * biases uniform in ``[-bias_scale, bias_scale]``.

    Parameters
    ----------
    d, k, m : int
        Input dimension, hidden units, outputs.
    bias_scale : float, default 0
    activation : str, Activation or callable, default "relu"
    rng : None, int or numpy.random.Generator

    Returns
    -------
    TwoLayerNetwork
        A network with ``d`` inputs, ``k`` hidden units and ``m`` outputs.

    Raises
    ------
    TypeError
        ``d``, ``k`` or ``m`` not an integer, or ``bias_scale`` not a number.
    ValueError
        ``d``, ``k`` or ``m`` below 1, ``bias_scale`` negative or not finite, an
        unknown ``activation`` or a bad ``rng``. Sizes whose parameter arrays
        would have more than ``MAX_ARRAY_ENTRIES`` (2**31) entries
        (``k (d + m + 1)``) are refused before any allocation.

    Examples
    --------
    >>> net = random_network(5, 3, bias_scale=1.0, rng=0)
    >>> (net.d, net.k, net.m)
    (5, 3, 1)
    """
    d = as_positive_int(d, "d")
    k = as_positive_int(k, "k")
    m = as_positive_int(m, "m")
    check_array_entries("d, k, m", (k, d + m + 1), "network's parameters (k, d + m + 1)")
    bias_scale = float(as_finite_array(bias_scale, "bias_scale", ndim=0))
    if bias_scale < 0:
        raise ValueError(f"bias_scale: expected a non-negative number, got {bias_scale}")
    rng = as_rng(rng)
    V = rng.standard_normal((k, d))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    U = rng.choice([-1.0, 1.0], size=(m, k)) * rng.uniform(0.5, 1.5, size=(m, k))
    b = rng.uniform(-bias_scale, bias_scale, size=k) if bias_scale > 0 else np.zeros(k)
    return TwoLayerNetwork(U, V, b, activation)


def gaussian_samples(
    net: TwoLayerNetwork, n: int, *, noise: float = 0.0,
    rng: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``x ~ N(0, I_d)`` and labels ``y = net(x) + noise * N(0, 1)``.

    Parameters
    ----------
    net : TwoLayerNetwork
    n : int
        Number of samples.
    noise : float, default 0
        Standard deviation of additive Gaussian label noise.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (n, m)

    Raises
    ------
    TypeError
        ``net`` not a :class:`TwoLayerNetwork`, ``n`` not an integer or ``noise``
        not a real number.
    ValueError
        ``n`` below 1, ``noise`` negative or not finite, or a bad ``rng``. ``n``
        is refused before any allocation if the samples and labels
        (``n (d + m)`` entries) would have more than ``MAX_ARRAY_ENTRIES`` (2**31)
        entries.
    """
    as_network(net, "net")
    n = as_positive_int(n, "n")
    check_array_entries("n", (n, net.d + net.m), "samples and labels (n, d + m)")
    noise = as_real_scalar(noise, "noise", low=0.0, what="a non-negative standard deviation")
    return _draw(net, n, noise, as_rng(rng))


def _draw(net, n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``x ~ N(0, I_d)`` and ``net.predict(x) + noise * N(0, 1)`` (validated arguments):
    the one sampler of :func:`gaussian_samples` and :meth:`DepthThreeNetwork.samples`."""
    X = rng.standard_normal((n, net.d))
    Y = net.predict(X)
    if noise > 0:
        Y = Y + noise * rng.standard_normal(Y.shape)
    return X, Y


class DepthThreeNetwork:
    """``x -> c^T relu(W2 relu(W1 x + b1) + b2) + c0``: a depth-3 ReLU network with one output.

    Its output depends on ``x`` only through ``W1 x``: the span that filtered
    PCA recovers is the row span of ``W1``.

    Parameters
    ----------
    W1 : array_like of shape (k1, d)
        First layer.
    b1 : array_like of shape (k1,)
        First-layer biases.
    W2 : array_like of shape (k2, k1)
        Second layer.
    b2 : array_like of shape (k2,)
        Second-layer biases.
    c : array_like of shape (k2,)
        Output weights.
    c0 : float, default 0
        Output offset.

    Raises
    ------
    ValueError
        ``W1``, ``W2`` not non-empty finite matrices with ``W2`` of ``k1``
        columns, or ``b1``, ``b2``, ``c``, ``c0`` not finite of shapes (k1,),
        (k2,), (k2,) and scalar.
    """

    def __init__(
        self, W1: ArrayLike, b1: ArrayLike, W2: ArrayLike, b2: ArrayLike, c: ArrayLike,
        c0: float = 0.0,
    ) -> None:
        self.W1 = as_finite_array(W1, "W1", ndim=2, nonempty=True)
        k1, d = self.W1.shape
        self.b1 = as_finite_array(b1, "b1", shape=(k1,))
        self.W2 = as_finite_array(W2, "W2", ndim=2, nonempty=True)
        if self.W2.shape[1] != k1:
            raise ValueError(f"W2: expected {k1} columns, got shape {self.W2.shape}")
        k2 = self.W2.shape[0]
        self.b2 = as_finite_array(b2, "b2", shape=(k2,))
        self.c = as_finite_array(c, "c", shape=(k2,))
        self.c0 = float(as_finite_array(c0, "c0", ndim=0))

    @property
    def d(self) -> int:
        """Input dimension."""
        return self.W1.shape[1]

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Outputs for samples ``X`` of shape (n, d): shape (n,).

        Parameters
        ----------
        X : array_like of shape (n, d) or (d,)
            Samples, one per row.

        Returns
        -------
        numpy.ndarray of shape (n,)
            The outputs.

        Raises
        ------
        ValueError
            ``X`` not finite with ``d`` columns.
        """
        X = as_samples(np.atleast_2d(X), "X", d=self.d)
        h1 = np.maximum(X @ self.W1.T + self.b1, 0.0)
        h2 = np.maximum(h1 @ self.W2.T + self.b2, 0.0)
        return h2 @ self.c + self.c0

    def samples(
        self, n: int, *, noise: float = 0.0, rng: int | np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``x ~ N(0, I_d)`` and ``y = F(x) + noise * N(0, 1)``: ``(X (n, d), y (n,))``.

        Parameters
        ----------
        n : int
            Number of samples.
        noise : float, default 0
            Standard deviation of the Gaussian label noise.
        rng : None, int or numpy.random.Generator
            For the samples and the noise.

        Returns
        -------
        X : numpy.ndarray of shape (n, d)
            The inputs.
        y : numpy.ndarray of shape (n,)
            The labels.

        Raises
        ------
        TypeError
            ``n`` not an integer or ``noise`` not a number.
        ValueError
            ``n`` below 1, ``noise`` negative or not finite, a bad ``rng``, or
            ``n (d + 1)`` above ``MAX_ARRAY_ENTRIES`` (2**31), refused before any work.
        """
        n = as_positive_int(n, "n")
        noise = as_real_scalar(noise, "noise", low=0.0, what="a non-negative standard deviation")
        check_array_entries("n", (n, self.d + 1), "samples and labels (n, d + 1)")
        return _draw(self, n, noise, as_rng(rng))

    def __repr__(self) -> str:
        return f"DepthThreeNetwork(d={self.d}, widths=({self.W1.shape[0]}, {self.W2.shape[0]}))"
