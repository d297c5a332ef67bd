"""Probabilists' Hermite polynomials and the Hermite coefficients of one ReLU unit.

Conventions (those of ATV21, Section 1.1 and Appendix A):

* ``He_k`` is the monic probabilists' Hermite polynomial,
  ``He_{k+1}(x) = x He_k(x) - k He_{k-1}(x)`` (DLMF 18.9.1), with
  ``E[He_j(z) He_k(z)] = k! delta_jk`` for ``z ~ N(0, 1)`` (DLMF 18.3).
* ``phi`` and ``Phi`` are the standard normal density and distribution function.

The polynomials themselves come from :mod:`numpy.polynomial.hermite_e`;
nothing here re-implements them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from numpy.polynomial import hermite_e
from scipy import special

from ._validation import (
    as_degree, as_finite_array, as_positive_int, check_finite_result, scaled_norm,
)
from .gaussian import normal_cdf, normal_pdf, relu_gaussian_mean

__all__ = [
    "hermite_prob",
    "hermite_prob_vander",
    "gauss_hermite_prob",
    "relu_hermite_coefficient",
    "relu_hermite_tensor_quadrature",
    "relu_hermite_energies",
    "MonteCarloEstimate",
    "hermite_coefficient_monte_carlo",
]


def hermite_prob(degree: int, x: ArrayLike) -> np.ndarray:
    """Probabilists' Hermite polynomial ``He_k`` evaluated at ``x``.

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` (``k`` in the formulas above).
    x : array_like
        Points.

    Returns
    -------
    ndarray or float
        ``He_k(x)``, same shape as ``x``.

    Raises
    ------
    TypeError
        ``degree`` not an integer.
    ValueError
        ``degree`` negative, ``x`` not finite, or values that overflow (``|x|``
        or ``degree`` too large). ``degree`` above ``MAX_DEGREE`` (100 000) is
        refused before any work.

    Examples
    --------
    >>> float(hermite_prob(3, 2.0))  # x^3 - 3x
    2.0
    """
    k = as_degree(degree, "degree")
    x = as_finite_array(x, "x")
    coef = np.zeros(k + 1)
    coef[k] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        out = hermite_e.hermeval(x, coef)
    return check_finite_result(out, f"He_{k}(x)", inputs="x", hint="expected a smaller |x| or k")


def hermite_prob_vander(x: ArrayLike, max_degree: int) -> np.ndarray:
    """Values ``He_0(x), ..., He_kmax(x)`` stacked on a new last axis.

    Thin wrapper of ``numpy.polynomial.hermite_e.hermevander``.

    Parameters
    ----------
    x : array_like
        Points (finite).
    max_degree : int
        The largest degree ``kmax >= 0``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``x.shape + (kmax + 1,)``; entry ``[..., j]`` is ``He_j(x)``.

    Raises
    ------
    TypeError
        ``max_degree`` not an integer.
    ValueError
        ``max_degree`` negative, ``x`` not finite, more than ``1e8`` values
        ``x.size * (max_degree + 1)``, or values that overflow. ``max_degree``
        above ``MAX_DEGREE`` (100 000) is refused before any work.

    See Also
    --------
    hermite_prob : One degree.

    Examples
    --------
    >>> hermite_prob_vander([2.0], 3).tolist()  # 1, x, x^2 - 1, x^3 - 3x
    [[1.0, 2.0, 3.0, 2.0]]
    """
    kmax = as_degree(max_degree, "max_degree")
    x = as_finite_array(x, "x")
    if x.size * (kmax + 1) > 10**8:
        raise ValueError(
            f"max_degree: expected at most 1e8 values x.size * (kmax + 1) (800 MB), got "
            f"{x.size} * {kmax + 1}"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        out = hermite_e.hermevander(x, kmax)
    return check_finite_result(out, f"He_0..He_{kmax}(x)", inputs="x",
                               hint="expected a smaller |x| or max_degree")


#: Largest number of nodes :func:`gauss_hermite_prob` accepts.
GAUSS_HERMITE_MAX_NODES = 100_000


def gauss_hermite_prob(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss quadrature for the standard normal distribution.

    Returns nodes ``x`` and weights ``w`` with
    ``sum(w * g(x)) = E[g(z)]``, ``z ~ N(0, 1)``, exactly for polynomials
    of degree ``<= 2n - 1``.

    ``numpy.polynomial.hermite_e.hermegauss`` integrates against
    ``exp(-x^2/2)``; its weights sum to ``sqrt(2 pi)``, so they are divided by
    that constant here. Up to ``n = 300`` the rule is numpy's; above, scipy's
    ``roots_hermitenorm`` (numpy's weights become NaN near ``n = 400``).

    Parameters
    ----------
    n : int
        Number of nodes, ``1 <= n <= GAUSS_HERMITE_MAX_NODES``.

    Returns
    -------
    x : numpy.ndarray of shape (n,)
        Nodes.
    w : numpy.ndarray of shape (n,)
        Weights, summing to 1.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or exceeds
        ``GAUSS_HERMITE_MAX_NODES`` (100 000).

    Examples
    --------
    >>> x, w = gauss_hermite_prob(5)
    >>> round(float(np.sum(w * x**4)), 12)  # E[z^4] = 3
    3.0
    """
    n = as_positive_int(n, "n")
    if n > GAUSS_HERMITE_MAX_NODES:
        raise ValueError(
            f"n: expected at most {GAUSS_HERMITE_MAX_NODES} nodes (the limit of this rule), got {n}"
        )
    if n <= 300:
        x, w = hermite_e.hermegauss(n)
    else:
        # numpy's weights underflow to NaN from about n = 400 on; scipy's rule for large n
        # (asymptotic, Townsend-Trogdon-Olver) keeps them finite (the smallest underflow to 0).
        x, w = special.roots_hermitenorm(n)
    return x, w / math.sqrt(2.0 * math.pi)


def relu_hermite_coefficient(order: int, b: ArrayLike) -> np.ndarray:
    """Hermite coefficient ``g_k(b) = E[sigma(z + b) He_k(z)]`` of one ReLU unit.

    ATV21, Lemma 3.5, for a single unit with unit weight vector:

    * ``g_0(b) = b Phi(b) + phi(b)``,
    * ``g_1(b) = Phi(b)``,
    * ``g_k(b) = (-1)^k He_{k-2}(b) phi(b)`` for ``k >= 2``.

    Note the index shift: the order-``k`` coefficient carries ``He_{k-2}``.
    The multivariate coefficient of ``a sigma(w.x + b)`` with ``|w| = 1`` is
    ``a g_k(b) w^{(x)k}``.

    Parameters
    ----------
    order : int
        The order ``k >= 0`` (``k`` in the formulas above).
    b : array_like
        Biases.

    Returns
    -------
    numpy.ndarray
        ``g_k(b)``, of the shape of ``b``.

    Raises
    ------
    TypeError
        ``order`` not an integer.
    ValueError
        ``order`` negative, ``b`` not finite, or values that overflow.
        ``order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> round(float(relu_hermite_coefficient(2, 0.0)), 6)  # phi(0)
    0.398942
    """
    k = as_degree(order, "order")
    b = as_finite_array(b, "b")
    if k == 0:
        return relu_gaussian_mean(b)
    if k == 1:
        return normal_cdf(b)
    with np.errstate(over="ignore", invalid="ignore"):
        coef = np.zeros(k - 1)
        coef[k - 2] = 1.0
        he = hermite_e.hermeval(b, coef)
        out = (-1.0) ** k * he * normal_pdf(b)
    # He_{k-2}(b) overflows before phi(b) vanishes for large k or |b|: refuse, never NaN.
    return check_finite_result(out, f"g_{k}(b) = (-1)^k He_{k - 2}(b) phi(b)", inputs="k, b",
                               hint="expected a smaller order k or smaller |b|")


# ---------------------------------------------------------------------------
# Helpers of the chapter "Hermite analysis of a ReLU unit": closed-form and
# quadrature expectations of ReLU units, Parseval energies, Monte Carlo with
# standard errors.
# ---------------------------------------------------------------------------

#: Half-width (in standard deviations) beyond which the Gaussian weight is
#: dropped by the quadratures below: phi(12) ~ 5e-32.
_GAUSS_TAIL = 12.0


def _half_line_rule(t0, n_nodes, breakpoints=()):
    """Nodes/weights for ``int_{t0}^{inf} g(t) phi(t) dt``: Gauss-Legendre on pieces of ``[t0, t0 + L]``.

    The Gaussian tail beyond ``max(t0, 0) + 12`` and below ``-12`` is dropped
    (below 1e-30).  ``breakpoints`` (kinks of ``g``) split the interval so
    that each piece carries a smooth integrand.
    """
    lo = max(t0, -_GAUSS_TAIL)
    hi = max(t0, 0.0) + _GAUSS_TAIL
    cuts = sorted({lo, hi, *[p for p in breakpoints if lo < p < hi]})
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    nodes, weights = [], []
    for left, right in zip(cuts[:-1], cuts[1:]):
        half = 0.5 * (right - left)
        t = left + half * (x + 1.0)
        nodes.append(t)
        weights.append(half * w * normal_pdf(t))
    return np.concatenate(nodes), np.concatenate(weights)


def _unit_vector(w, name):
    norm = float(scaled_norm(w))
    if norm == 0.0:
        raise ValueError(f"{name}: expected a non-zero weight vector, got the zero vector")
    return w / norm, norm


def _householder_basis(w_hat):
    """Orthogonal symmetric ``H`` with first column ``w_hat`` (a Householder reflection)."""
    d = w_hat.shape[0]
    u = -w_hat.copy()
    u[0] += 1.0
    nu = float(u @ u)
    if nu < 1e-30:
        return np.eye(d)
    return np.eye(d) - 2.0 * np.outer(u, u) / nu


def relu_hermite_tensor_quadrature(
    w: ArrayLike, b: ArrayLike, order: int, *, n_nodes: int = 120,
) -> np.ndarray:
    """Hermite coefficient ``E[sigma(w.x + b) He_order(x)]`` of one unit, by quadrature.

    An independent check of ATV21, Lemma 3.5 that does not use the lemma:
    in the rotated basis ``x = H z`` with ``H`` orthogonal and ``H e_1 = w/|w|``,
    the unit is ``|w| sigma(z_1 + b/|w|)``.  The integral over ``z_1`` runs
    over the active half-line ``z_1 > -b/|w|`` with a Gauss-Legendre rule
    times the normal density (the integrand is a polynomial times a Gaussian
    there, so convergence is exponential), and over ``z_2, ..., z_d`` with a
    Gauss-Hermite rule of ``order // 2 + 1`` nodes per coordinate, exact for
    the polynomial dependence on them.  Accuracy about 1e-13.

    Parameters
    ----------
    w : array_like of shape (d,)
        Non-zero weight vector (any norm).
    b : float
    order : int
    n_nodes : int
        Gauss-Legendre nodes on the active half-line.

    Returns
    -------
    ndarray of shape ``(d,) * order``

    Raises
    ------
    ValueError
        For invalid inputs, or if ``d**order`` or the quadrature grid is too large.
        ``order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> T = relu_hermite_tensor_quadrature([0.6, 0.8], 0.5, 2)
    >>> g2 = relu_hermite_coefficient(2, 0.5)  # Lemma 3.5: g_2(b) w w^T
    >>> bool(np.allclose(T, g2 * np.outer([0.6, 0.8], [0.6, 0.8]), atol=1e-13))
    True
    """
    from .tensors import check_full_tensor_size, hermite_tensor

    w = as_finite_array(w, "w", ndim=1)
    b = float(as_finite_array(b, "b", ndim=0))
    order = as_degree(order, "order")
    n_nodes = as_positive_int(n_nodes, "n_nodes")
    d = w.shape[0]
    check_full_tensor_size(d, order)
    w_hat, w_norm = _unit_vector(w, "w")
    n_gauss = order // 2 + 1
    if n_nodes * n_gauss ** (d - 1) > 2_000_000:
        raise ValueError(
            f"w, order, n_nodes: the quadrature grid in dimension d={d} would have "
            f"{n_nodes * n_gauss ** (d - 1):,} nodes (n_nodes * (order // 2 + 1)**(d - 1), at "
            "most 2,000,000); use d <= 8, a lower order or fewer nodes"
        )
    t, wt = _half_line_rule(-b / w_norm, n_nodes)
    g, gw = gauss_hermite_prob(n_gauss)
    grids = np.meshgrid(t, *([g] * (d - 1)), indexing="ij")
    weights = np.meshgrid(wt, *([gw] * (d - 1)), indexing="ij")
    Z = np.stack([a.ravel() for a in grids], axis=1)  # (N, d) rotated coordinates
    weight = np.prod(np.stack([a.ravel() for a in weights], axis=1), axis=1)
    X = Z @ _householder_basis(w_hat).T  # x = H z
    values = weight * (w_norm * Z[:, 0] + b)  # |w| sigma(z_1 + b/|w|) on the active half-line
    He = hermite_tensor(X, order).reshape(X.shape[0], -1)
    return (values @ He).reshape((d,) * order)


def relu_hermite_energies(a: ArrayLike, V: ArrayLike, b: ArrayLike, max_order: int) -> np.ndarray:
    """Parseval energies ``||f_k||_F^2 / k!``, ``k = 0..kmax``, of ``f(x) = sum_i a_i sigma(V_i.x + b_i)``.

    By ATV21, Lemma 3.5, ``f_k = sum_i a_i |V_i| g_k(beta_i) w_i^{(x)k}`` with
    ``w_i = V_i/|V_i|``, ``beta_i = b_i/|V_i|`` and ``g_k`` of
    :func:`relu_hermite_coefficient`, so
    ``||f_k||_F^2 / k! = sum_{i,j} c_i c_j gamma_k(beta_i) gamma_k(beta_j) (w_i.w_j)^k``
    with ``c_i = a_i |V_i|`` and ``gamma_k = g_k / sqrt(k!)``.  The
    normalised ``gamma_k`` are computed with the recurrence of the
    orthonormal Hermite polynomials, so large ``k`` (thousands) is fine.
    Parseval: ``E[f(x)^2] = sum_k ||f_k||_F^2 / k!``.

    Parameters
    ----------
    a : array_like of shape (m,)
        Output weights.
    V : array_like of shape (m, d)
        Non-zero rows (weight vectors of the hidden units).
    b : array_like of shape (m,)
        Biases.
    max_order : int
        The largest order ``kmax >= 0``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(kmax + 1,)``: the energies of the orders ``0..kmax``.

    Raises
    ------
    ValueError
        For mismatched shapes, non-finite values or a zero row of ``V``.
        ``max_order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> e = relu_hermite_energies([1.0], [[1.0, 0.0]], [0.0], 2)
    >>> [round(float(t), 6) for t in e]  # phi(0)^2 * 2, 1/4, phi(0)^2 / 2
    [0.159155, 0.25, 0.079577]
    """
    V = as_finite_array(V, "V", ndim=2)
    m = V.shape[0]
    a = as_finite_array(a, "a", shape=(m,))
    b = as_finite_array(b, "b", shape=(m,))
    kmax = as_degree(max_order, "max_order")
    norms = np.linalg.norm(V, axis=1)
    if np.any(norms == 0.0):
        raise ValueError(f"V: expected non-zero rows, got {int(np.sum(norms == 0.0))} zero rows")
    c = a * norms
    beta = b / norms
    rho = (V / norms[:, None]) @ (V / norms[:, None]).T
    gamma = np.empty((kmax + 1, m))
    gamma[0] = relu_gaussian_mean(beta)
    if kmax >= 1:
        gamma[1] = normal_cdf(beta)
    # orthonormal Hermite h_n = He_n / sqrt(n!): h_{n+1} = (x h_n - sqrt(n) h_{n-1}) / sqrt(n+1)
    h_prev, h = np.zeros(m), np.ones(m)
    pdf = normal_pdf(beta)
    for k in range(2, kmax + 1):
        n = k - 2  # h currently holds h_n(beta)
        gamma[k] = (-1.0) ** k * h * pdf / math.sqrt(k * (k - 1.0))  # ATV21, Lemma 3.5
        h_prev, h = h, (beta * h - math.sqrt(n) * h_prev) / math.sqrt(n + 1.0)
    energies = np.empty(kmax + 1)
    for k in range(kmax + 1):
        u = c * gamma[k]
        energies[k] = u @ (rho**k) @ u
    return energies


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo mean with its standard error, entrywise.

    Attributes
    ----------
    mean : ndarray
        The sample mean.
    standard_error : ndarray
        Same shape: sample standard deviation divided by ``sqrt(n)``.
    n : int
        Number of samples.
    """

    mean: np.ndarray
    standard_error: np.ndarray
    n: int


def hermite_coefficient_monte_carlo(
    X: ArrayLike, Y: ArrayLike, order: int, *, chunk_size: int = 100_000,
) -> MonteCarloEstimate:
    """Empirical Hermite coefficient ``T_k = (1/N) sum_n Y_n He_k(x_n)`` with standard errors.

    The estimator of ATV21, eq. (6), together with the entrywise standard
    error ``s / sqrt(N)`` computed from the same samples (``s`` the sample
    standard deviation of ``Y_n He_k(x_n)[i_1..i_k]``), streamed in chunks so
    that memory is ``O(chunk_size * d^k)``.  Only the distinct entries of the
    symmetric tensor are computed.

    Parameters
    ----------
    X : array_like of shape (n, d)
        Samples ``x_n ~ N(0, I_d)``, one per row.
    Y : array_like of shape (n,) or (n, 1)
        Labels, one output.
    order : int
        The order ``k`` of the tensor.
    chunk_size : int, default 100000
        Samples per streamed chunk (reduced to keep work arrays within the memory budget).

    Returns
    -------
    MonteCarloEstimate
        ``mean`` and ``standard_error`` of shape ``(d,) * order``.

    Raises
    ------
    ValueError
        For invalid shapes or values, fewer than two samples, more than one
        output column, or a too large full tensor.
        ``order`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((10_000, 2))
    >>> est = hermite_coefficient_monte_carlo(X, X[:, 0], 1)  # E[x_0 x] = e_0
    >>> bool(np.all(np.abs(est.mean - [1.0, 0.0]) < 4 * est.standard_error))
    True
    """
    from ._validation import as_samples, as_targets, check_finite_result
    from .tensors import check_full_tensor_size, hermite_tensor_entries

    X = as_samples(X)
    n, d = X.shape
    Y = as_targets(Y, n, "Y")
    if Y.shape[1] != 1:
        raise ValueError(f"Y: expected one output column, got shape {Y.shape}")
    if n < 2:
        raise ValueError(f"X: expected at least 2 samples for a standard error, got {n}")
    order = as_degree(order, "order")
    chunk_size = as_positive_int(chunk_size, "chunk_size")
    check_full_tensor_size(d, order)
    from .moments import rows_within_budget

    # Per sample: He values, distinct entries, their product with y and one temporary.
    chunk_size = rows_within_budget(chunk_size, 4 * math.comb(d + order - 1, order) + d * (order + 1))
    total = total_sq = None
    scatter = None
    for start in range(0, n, chunk_size):
        entries, scatter = hermite_tensor_entries(X[start : start + chunk_size], order)
        values = entries * Y[start : start + chunk_size]
        s, s2 = values.sum(axis=0), np.einsum("ij,ij->j", values, values)
        total = s if total is None else total + s
        total_sq = s2 if total_sq is None else total_sq + s2
    check_finite_result(total_sq, f"the order-{order} Hermite moment and its variance",
                        inputs="X, Y")
    mean = total / n
    variance = np.maximum(total_sq - n * mean**2, 0.0) / (n - 1)
    se = np.sqrt(variance / n)
    shape = (d,) * order
    return MonteCarloEstimate(mean[scatter].reshape(shape), se[scatter].reshape(shape), n)
