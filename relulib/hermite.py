"""Probabilists' Hermite polynomials and the Hermite coefficients of one ReLU unit.

Conventions (ALGORITHMS.md, "Conventions"):

* ``He_k`` is the monic probabilists' Hermite polynomial,
  ``He_{k+1}(x) = x He_k(x) - k He_{k-1}(x)`` (DLMF 18.9.1), with
  ``E[He_j(z) He_k(z)] = k! delta_jk`` for ``z ~ N(0, 1)`` (DLMF 18.3).
* ``phi`` and ``Phi`` are the standard normal density and distribution function.

The polynomials themselves come from :mod:`numpy.polynomial.hermite_e`;
nothing here re-implements them.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import hermite_e
from scipy import special

from ._validation import as_nonnegative_int, as_positive_int, describe

__all__ = [
    "hermite_prob",
    "hermite_prob_vander",
    "gauss_hermite_prob",
    "normal_pdf",
    "normal_cdf",
    "relu_hermite_coefficient",
]


def hermite_prob(k, x):
    """Probabilists' Hermite polynomial ``He_k`` evaluated at ``x``.

    Parameters
    ----------
    k : int
        Degree, ``k >= 0``.
    x : array_like
        Points.

    Returns
    -------
    ndarray or float
        ``He_k(x)``, same shape as ``x``.

    Examples
    --------
    >>> float(hermite_prob(3, 2.0))  # x^3 - 3x
    2.0
    """
    k = as_nonnegative_int(k, "k")
    coef = np.zeros(k + 1)
    coef[k] = 1.0
    return hermite_e.hermeval(x, coef)


def hermite_prob_vander(x, kmax):
    """Values ``He_0(x), ..., He_kmax(x)`` stacked on a new last axis.

    Thin wrapper of :func:`numpy.polynomial.hermite_e.hermevander`.

    Returns
    -------
    ndarray of shape ``x.shape + (kmax + 1,)``
    """
    kmax = as_nonnegative_int(kmax, "kmax")
    return hermite_e.hermevander(np.asarray(x, dtype=float), kmax)


def gauss_hermite_prob(n):
    """Gauss quadrature for the standard normal distribution.

    Returns nodes ``x`` and weights ``w`` with
    ``sum(w * g(x)) = E[g(z)]``, ``z ~ N(0, 1)``, exactly for polynomials
    of degree ``<= 2n - 1``.

    :func:`numpy.polynomial.hermite_e.hermegauss` integrates against
    ``exp(-x^2/2)``; its weights sum to ``sqrt(2 pi)``, so they are divided by
    that constant here.

    Examples
    --------
    >>> x, w = gauss_hermite_prob(5)
    >>> round(float(np.sum(w * x**4)), 12)  # E[z^4] = 3
    3.0
    """
    n = as_positive_int(n, "n")
    x, w = hermite_e.hermegauss(n)
    return x, w / math.sqrt(2.0 * math.pi)


def normal_pdf(t):
    """Standard normal density ``phi(t) = exp(-t^2/2) / sqrt(2 pi)``."""
    t = np.asarray(t, dtype=float)
    return np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)


def normal_cdf(t):
    """Standard normal distribution function ``Phi(t)`` (``scipy.special.ndtr``)."""
    return special.ndtr(np.asarray(t, dtype=float))


def relu_hermite_coefficient(k, b):
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
    k : int
        Order, ``k >= 0``.
    b : array_like
        Biases.

    Examples
    --------
    >>> round(float(relu_hermite_coefficient(2, 0.0)), 6)  # phi(0)
    0.398942
    """
    k = as_nonnegative_int(k, "k")
    b = np.asarray(b, dtype=float)
    if not np.all(np.isfinite(b)):
        raise ValueError(f"b: expected finite biases, got {describe(b)} with non-finite entries")
    if k == 0:
        return b * normal_cdf(b) + normal_pdf(b)
    if k == 1:
        return normal_cdf(b)
    return (-1.0) ** k * hermite_prob(k - 2, b) * normal_pdf(b)
