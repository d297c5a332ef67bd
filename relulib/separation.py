"""Root separation of consecutive Hermite polynomials (ATV21, Lemma 4.3, and its repair).

ATV21 states as Lemma 4.3:

    for all k and x,  max(|He_k(x)|, |He_{k+1}(x)|) >= sqrt(k!) / 2.

This is true for ``k <= 7`` and false for ``k = 8`` (chapter "Root
separation", which proves it with exact arithmetic).  This module provides

* exact integer/rational arithmetic for ``He_k`` (:func:`hermite_prob_integer_coefficients`,
  :func:`hermite_prob_exact`), used by certificates;
* :func:`certify_root_separation`: a certified decision of the inequality
  ``max(He_k(x)^2, He_{k+1}(x)^2) >= B`` for all real ``x`` (default
  ``B = k!/4``, the lemma as printed), by exact real-root isolation of
  ``(He_k^2 - B)(He_{k+1}^2 - B)`` (SymPy, rational isolating intervals) and
  an exact sign test at one rational point of every cell between roots;
* :func:`separation_minimum`: ``min_x max(|He_k(x)|, |He_{k+1}(x)|)`` in
  floating point from the critical points, for tables and plots;
* the repaired statement: the Christoffel--Darboux-type identity
  ``(k+1) He_k^2 - x He_k He_{k+1} + He_{k+1}^2 = k! sum_{j<=k} He_j^2 / j!``
  (:func:`separation_identity_holds`, exact) and the bound it implies,
  ``max(|He_k(x)|, |He_{k+1}(x)|) >= sqrt(k! / (k + 2 + |x|))``
  (:func:`repaired_separation_bound`).

SymPy is imported lazily and only by :func:`certify_root_separation`, where
exactness is the point; everything else is integers, fractions and numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from numbers import Rational
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike
from numpy.polynomial import hermite_e

from ._validation import as_degree, as_finite_array, describe

__all__ = [
    "hermite_prob_integer_coefficients",
    "hermite_prob_exact",
    "SeparationCertificate",
    "certify_root_separation",
    "SeparationMinimum",
    "separation_minimum",
    "repaired_separation_bound",
    "separation_identity_holds",
]


@lru_cache(maxsize=None)
def _he_coefficients(k: int) -> tuple:
    # DLMF 18.9.1: He_{k+1}(x) = x He_k(x) - k He_{k-1}(x); integer coefficients.
    prev, cur = (1,), (0, 1)
    if k == 0:
        return prev
    for n in range(1, k):
        nxt = [0] * (n + 2)
        for j, c in enumerate(cur):
            nxt[j + 1] += c
        for j, c in enumerate(prev):
            nxt[j] -= n * c
        prev, cur = cur, tuple(nxt)
    return cur


def hermite_prob_integer_coefficients(degree: int) -> list[int]:
    """Exact monomial coefficients of ``He_k``: ``He_k(x) = sum_j c[j] x^j``.

    Computed with Python integers from the recurrence
    ``He_{k+1} = x He_k - k He_{k-1}`` (DLMF 18.9.1), so they are exact for
    every ``k`` (floating point loses digits from ``k`` of about 25 on).

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` (``k`` in the formulas above).

    Returns
    -------
    list of int of length ``k + 1``
        ``c[j]`` is the coefficient of ``x^j``.

    Raises
    ------
    TypeError
        ``degree`` not an integer.
    ValueError
        ``degree`` negative. ``degree`` above ``MAX_DEGREE`` (100 000) is refused
        before any work.

    Examples
    --------
    >>> hermite_prob_integer_coefficients(4)  # x^4 - 6x^2 + 3
    [3, 0, -6, 0, 1]
    """
    k = as_degree(degree, "degree")
    return list(_he_coefficients(k))


def _as_rational(x, name: str) -> Fraction:
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name}: expected a rational number (int, Fraction or str), got {describe(x)}")
    if isinstance(x, (Rational, str)):
        try:
            return Fraction(x)
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError(f"{name}: expected a rational number, got {x!r} ({exc})") from None
    raise ValueError(
        f"{name}: expected a rational number (int, Fraction or str such as '-1076/10000'), "
        f"got {describe(x)}; floats are refused because the result must be exact"
    )


def _horner(coef, x: Fraction) -> Fraction:
    value = Fraction(0)
    for c in reversed(coef):
        value = value * x + c
    return value


def hermite_prob_exact(degree: int, x: int | Fraction | str) -> Fraction:
    """Exact value ``He_k(x)`` at a rational point ``x``.

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` (``k`` in the formulas above).
    x : int, fractions.Fraction or str
        A rational point, e.g. ``Fraction(-1076, 10000)`` or ``"-0.1076"``.
        Floats are refused: the point of this function is exactness.

    Returns
    -------
    fractions.Fraction

    Raises
    ------
    ValueError
        If ``k`` is not a non-negative integer or ``x`` is not rational.
        ``degree`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> hermite_prob_exact(3, Fraction(1, 2))  # x^3 - 3x
    Fraction(-11, 8)
    """
    k = as_degree(degree, "degree")
    x = _as_rational(x, "x")
    return _horner(_he_coefficients(k), x)


@dataclass(frozen=True)
class SeparationCertificate:
    """Certified answer to "is ``max(He_k(x)^2, He_{k+1}(x)^2) >= bound_squared`` for all real x?".

    Attributes
    ----------
    degree : int
        The ``k`` of the pair ``He_k``, ``He_{k+1}``.
    bound_squared : fractions.Fraction
        The squared bound ``B`` (``k!/4`` for ATV21, Lemma 4.3 as printed).
    holds : bool
        True iff the inequality holds for every real ``x`` (certified).
    witness : fractions.Fraction or None
        When ``holds`` is False, a rational ``x`` with
        ``He_k(x)^2 < B`` and ``He_{k+1}(x)^2 < B`` exactly; otherwise None.
    n_roots : int
        Number of distinct real roots of ``(He_k^2 - B)(He_{k+1}^2 - B)``.
    n_cells : int
        Number of open cells between those roots whose sign pattern was checked
        exactly (``n_roots + 1``).
    """

    degree: int
    bound_squared: Fraction
    holds: bool
    witness: Optional[Fraction]
    n_roots: int
    n_cells: int


def certify_root_separation(
    degree: int, bound_squared: int | Fraction | str | None = None,
) -> SeparationCertificate:
    """Certify or refute ``max(|He_k(x)|, |He_{k+1}(x)|) >= sqrt(B)`` for all real ``x``.

    ATV21, Lemma 4.3 claims this with ``B = k!/4``.  The decision is exact:
    with ``p = He_k^2 - B`` and ``q = He_{k+1}^2 - B`` (rational coefficients),
    the inequality fails iff ``p(x) < 0`` and ``q(x) < 0`` for some ``x``.
    The real roots of ``p q`` are isolated in disjoint intervals with
    rational endpoints (SymPy's ``Poly.intervals``, exact Sturm/continued
    fraction isolation); between two consecutive roots the signs of ``p`` and
    ``q`` are constant, so it suffices to evaluate both exactly (fractions) at
    one rational point of each cell.  At the roots themselves the inequality
    holds with equality.

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` of ``He_k`` (``k`` in the formulas above).
    bound_squared : int, fractions.Fraction, str or None
        The squared bound ``B >= 0``; None means ``k!/4`` (the lemma as printed).

    Returns
    -------
    SeparationCertificate

    Raises
    ------
    ValueError
        If ``k`` is not a non-negative integer or ``bound_squared`` is not a
        non-negative rational.
        ``degree`` above ``MAX_DEGREE`` (100 000) is refused before any work.

    Examples
    --------
    >>> certify_root_separation(7).holds
    True
    >>> cert = certify_root_separation(8)
    >>> cert.holds, 4 * hermite_prob_exact(8, cert.witness) ** 2 < math.factorial(8)
    (False, True)
    """
    import sympy as sp  # exactness is the point here (SymPy: certificates are exact)

    k = as_degree(degree, "degree")
    if bound_squared is None:
        B = Fraction(math.factorial(k), 4)
    else:
        B = _as_rational(bound_squared, "bound_squared")
        if B < 0:
            raise ValueError(f"bound_squared: expected a non-negative rational, got {B}")
    x = sp.Symbol("x", real=True)
    he_k = sp.Poly(list(reversed(_he_coefficients(k))), x, domain=sp.ZZ)
    he_k1 = sp.Poly(list(reversed(_he_coefficients(k + 1))), x, domain=sp.ZZ)
    b_sym = sp.Rational(B.numerator, B.denominator)
    p = (he_k**2 - b_sym).set_domain(sp.QQ)
    q = (he_k1**2 - b_sym).set_domain(sp.QQ)
    p_coef = [Fraction(int(c.p), int(c.q)) for c in reversed(p.all_coeffs())]
    q_coef = [Fraction(int(c.p), int(c.q)) for c in reversed(q.all_coeffs())]

    def both_negative(t: Fraction) -> bool:
        return _horner(p_coef, t) < 0 and _horner(q_coef, t) < 0

    def is_root(t: Fraction) -> bool:
        return _horner(p_coef, t) == 0 or _horner(q_coef, t) == 0

    eps = Fraction(1, 2**20)
    for _ in range(10):
        intervals = (p * q).intervals(eps=sp.Rational(eps.numerator, eps.denominator))
        ends = [(Fraction(int(a.p), int(a.q)), Fraction(int(c.p), int(c.q))) for (a, c), _m in intervals]
        ends.sort()
        if not ends:
            samples = [Fraction(0)]
        else:
            samples = [ends[0][0] - 1]
            samples += [(ends[i][1] + ends[i + 1][0]) / 2 for i in range(len(ends) - 1)]
            samples.append(ends[-1][1] + 1)
        separated = all(ends[i][1] <= ends[i + 1][0] for i in range(len(ends) - 1))
        if separated and not any(is_root(t) for t in samples):
            break
        eps /= 2**10  # refine the isolating intervals and try again
    else:  # pragma: no cover - isolating intervals always separate after refinement
        raise RuntimeError("certify_root_separation: could not separate the roots")

    witness = next((t for t in samples if both_negative(t)), None)
    return SeparationCertificate(
        degree=k,
        bound_squared=B,
        holds=witness is None,
        witness=witness,
        n_roots=len(ends),
        n_cells=len(samples),
    )


@dataclass(frozen=True)
class SeparationMinimum:
    """``min_x max(|He_k(x)|, |He_{k+1}(x)|)`` and where it is attained.

    Attributes
    ----------
    degree : int
        The ``k`` of the pair ``He_k``, ``He_{k+1}``.
    x : float
        A minimiser; ``|He_k|`` and ``|He_{k+1}|`` are even functions of
        ``x``, so ``-x`` is one too.  The non-positive one is reported.
    value : float
        The minimum of ``max(|He_k(x)|, |He_{k+1}(x)|)``.
    ratio : float
        ``value / sqrt(k!)``; ATV21, Lemma 4.3 claims ``ratio >= 1/2``.
    """

    degree: int
    x: float
    value: float
    ratio: float


def separation_minimum(degree: int) -> SeparationMinimum:
    """Minimum over real ``x`` of ``max(|He_k(x)|, |He_{k+1}(x)|)`` (floating point).

    The function ``M(x) = max(|He_k(x)|, |He_{k+1}(x)|)`` tends to infinity,
    so its minimum is attained either where the two moduli are equal
    (roots of ``He_k - He_{k+1}`` or ``He_k + He_{k+1}``) or at a critical
    point of the larger one (roots of ``He_k' = k He_{k-1}`` or
    ``He_{k+1}' = (k+1) He_k``).  All candidates are roots of polynomials in
    the Hermite basis, found with ``numpy.polynomial.hermite_e.hermeroots``
    (a well-conditioned companion matrix in that basis), so the result is
    accurate to about ``1e-12`` relative for ``k <= 40``.  For a certified
    statement use :func:`certify_root_separation`.

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` of ``He_k`` (``k`` in the formulas above).

    Returns
    -------
    SeparationMinimum

    Raises
    ------
    TypeError
        ``degree`` not an integer.
    ValueError
        ``degree`` negative. ``degree`` above ``MAX_DEGREE`` (100 000) is refused
        before any work.
    OverflowError
        ``degree`` above 170, after the minimum is computed: ``ratio`` divides
        by ``sqrt(k!)``, which no longer fits a float.

    Examples
    --------
    >>> m = separation_minimum(1)  # max(|x|, |x^2 - 1|): golden ratio
    >>> round(m.value, 6), round(m.x, 6)
    (0.618034, -0.618034)
    """
    k = as_degree(degree, "degree")
    e = np.eye(k + 2)  # e[j] = coefficients of He_j in the Hermite basis
    # |He_k| = |He_{k+1}|, He_{k+1}' = (k+1) He_k = 0, He_k' = k He_{k-1} = 0
    polynomials = [e[k] - e[k + 1], e[k] + e[k + 1], e[k][: k + 1]]
    if k >= 2:
        polynomials.append(e[k - 1][:k])
    candidates = [np.zeros(1)]
    for coef in polynomials:
        roots = hermite_e.hermeroots(coef)
        candidates.append(np.real(roots[np.abs(np.imag(roots)) < 1e-9]))
    xs = np.concatenate(candidates)
    xs = np.concatenate([xs, -xs])  # the moduli are even: use both signs
    values = np.maximum(np.abs(hermite_e.hermeval(xs, e[k])), np.abs(hermite_e.hermeval(xs, e[k + 1])))
    best = float(np.min(values))
    x_best = -float(np.abs(xs[np.argmin(values)]))
    return SeparationMinimum(degree=k, x=x_best, value=best, ratio=best / math.sqrt(math.factorial(k)))


def repaired_separation_bound(degree: int, x: ArrayLike) -> np.ndarray:
    """Repaired Lemma 4.3: ``sqrt(k! / (k + 2 + |x|))``.

    For every ``k >= 0`` and real ``x``,
    ``max(|He_k(x)|, |He_{k+1}(x)|) >= sqrt(k! / (k + 2 + |x|))``.  Proof:
    the identity of :func:`separation_identity_holds` gives
    ``k! <= k! sum_j He_j^2/j! = (k+1)He_k^2 - x He_k He_{k+1} + He_{k+1}^2
    <= (k + 2 + |x|) max(He_k^2, He_{k+1}^2)``.

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` of ``He_k`` (``k`` in the formulas above).
    x : array_like
        Points.

    Returns
    -------
    ndarray or float, same shape as ``x``

    Raises
    ------
    TypeError
        ``degree`` not an integer.
    ValueError
        ``degree`` negative or above 170 (``k!`` overflows a float beyond), or
        ``x`` not finite.

    Examples
    --------
    >>> round(float(repaired_separation_bound(8, -0.1076)), 4)
    63.1591
    """
    k = as_degree(degree, "degree")
    if k > 170:
        raise ValueError(f"degree: expected at most 170 (k! overflows a float beyond), got {k}")
    x = as_finite_array(x, "x")
    # float(k!) first: numpy < 2 turns a Python int above 2**63 into an object array.
    return np.sqrt(float(math.factorial(k)) / (k + 2.0 + np.abs(x)))


def _poly_mul(a, b):
    out = [0] * (len(a) + len(b) - 1)
    for i, ai in enumerate(a):
        if ai:
            for j, bj in enumerate(b):
                out[i + j] += ai * bj
    return out


def _poly_add(a, b, scale_b=1):
    out = list(a) + [0] * max(0, len(b) - len(a))
    for j, bj in enumerate(b):
        out[j] += scale_b * bj
    return out


def separation_identity_holds(degree: int) -> bool:
    """Exact check of the Christoffel--Darboux-type identity at degree ``k``.

    ``(k+1) He_k(x)^2 - x He_k(x) He_{k+1}(x) + He_{k+1}(x)^2
    = k! sum_{j=0}^{k} He_j(x)^2 / j!``,
    compared coefficient by coefficient in exact integer arithmetic
    (``k!/j!`` is an integer).  It is the identity behind
    :func:`repaired_separation_bound`; its general proof is by induction
    with the recurrence ``He_{k+1} = x He_k - k He_{k-1}``.

    Parameters
    ----------
    degree : int
        The degree ``k >= 0`` of ``He_k`` (``k`` in the formulas above).

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        ``degree`` not an integer.
    ValueError
        ``degree`` negative. ``degree`` above ``MAX_DEGREE`` (100 000) is refused
        before any work.

    Examples
    --------
    >>> all(separation_identity_holds(k) for k in range(12))
    True
    """
    k = as_degree(degree, "degree")
    hk, hk1 = _he_coefficients(k), _he_coefficients(k + 1)
    lhs = _poly_mul(hk, hk)
    lhs = [(k + 1) * c for c in lhs]
    lhs = _poly_add(lhs, _poly_mul([0, 1], _poly_mul(hk, hk1)), scale_b=-1)
    lhs = _poly_add(lhs, _poly_mul(hk1, hk1))
    rhs = [0]
    for j in range(k + 1):
        hj = _he_coefficients(j)
        rhs = _poly_add(rhs, _poly_mul(hj, hj), scale_b=math.factorial(k) // math.factorial(j))
    n = max(len(lhs), len(rhs))
    lhs += [0] * (n - len(lhs))
    rhs += [0] * (n - len(rhs))
    return lhs == rhs
