"""Gaussian integrals: the normal distribution and the expectations of ReLU units.

Every closed-form Gaussian integral of the library lives here, once:

* :func:`normal_pdf`, :func:`normal_cdf` (``phi``, ``Phi``; ``scipy.special.ndtr``) and
  :func:`bivariate_normal_cdf` (``Phi_2``, through Owen's T function);
* :func:`relu_gaussian_mean`, ``g_0(b) = E[sigma(z + b)] = b Phi(b) + phi(b)``, the
  order-0 Hermite coefficient of ATV21, Lemma 3.5;
* :func:`relu_gaussian_kernel`, ``E[sigma(w.x + b) sigma(v.x + c)]`` for all pairs of
  units (the biased arc-cosine kernel), and its single-pair form :func:`relu_kernel`
  (deprecated);
* :func:`relu_tail_l2`, ``E[sigma(z - |b|)^2]``, the squared L2 cost of replacing a
  unit with a large bias by its limit (ATV21, Section 3), also available under its
  former name :func:`large_bias_replacement_error` (deprecated).

``z ~ N(0, 1)`` and ``x ~ N(0, I_d)`` throughout; ``sigma(t) = max(t, 0)``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ._validation import (
    as_finite_array, as_positive_int, as_real_array, check_finite_result, scaled_norm,
)

__all__ = [
    "normal_pdf",
    "normal_cdf",
    "relu_gaussian_mean",
    "bivariate_normal_cdf",
    "relu_gaussian_kernel",
    "relu_kernel",
    "relu_tail_l2",
    "large_bias_replacement_error",
]


def normal_pdf(t: ArrayLike) -> np.ndarray:
    """Standard normal density ``phi(t) = exp(-t^2/2) / sqrt(2 pi)``.

    Parameters
    ----------
    t : array_like
        Points; ``+-inf`` allowed (density 0).

    Returns
    -------
    numpy.ndarray
        ``phi(t)``, of the shape of ``t`` (0-d for a scalar).

    Raises
    ------
    TypeError
        ``t`` not numeric.
    ValueError
        ``t`` with NaN entries (infinities are allowed).

    See Also
    --------
    normal_cdf : The distribution function ``Phi``.

    Examples
    --------
    >>> round(float(normal_pdf(0.0)), 6)
    0.398942
    """
    t = as_real_array(t, "t", allow_inf=True)
    return np.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)


def normal_cdf(t: ArrayLike) -> np.ndarray:
    """Standard normal distribution function ``Phi(t)`` (``scipy.special.ndtr``).

    Parameters
    ----------
    t : array_like
        Points; ``+-inf`` allowed.

    Returns
    -------
    numpy.ndarray
        ``Phi(t)``, of the shape of ``t`` (0-d for a scalar).

    Raises
    ------
    TypeError
        ``t`` not numeric.
    ValueError
        ``t`` with NaN entries (infinities are allowed).

    See Also
    --------
    normal_pdf : The density ``phi``.
    bivariate_normal_cdf : The distribution function of two correlated normals.

    Examples
    --------
    >>> float(normal_cdf(0.0))
    0.5
    """
    return special.ndtr(as_real_array(t, "t", allow_inf=True))


def relu_gaussian_mean(b: ArrayLike) -> np.ndarray:
    """``g_0(b) = E[sigma(z + b)] = b Phi(b) + phi(b)`` for ``z ~ N(0, 1)``.

    The mean of a ReLU unit with a unit weight vector and bias ``b`` under a standard
    Gaussian input, the order-0 Hermite coefficient of ATV21, Lemma 3.5.

    Parameters
    ----------
    b : array_like
        Biases (finite).

    Returns
    -------
    numpy.ndarray
        ``b Phi(b) + phi(b)``, of the shape of ``b``.

    Raises
    ------
    TypeError
        ``b`` not numeric.
    ValueError
        ``b`` not finite.

    See Also
    --------
    relulib.relu_hermite_coefficient : ``g_k(b)`` for every order ``k``.

    Examples
    --------
    >>> round(float(relu_gaussian_mean(0.0)), 6)  # phi(0)
    0.398942
    """
    b = as_finite_array(b, "b")
    return b * normal_cdf(b) + normal_pdf(b)


def bivariate_normal_cdf(h: ArrayLike, k: ArrayLike, rho: ArrayLike) -> float | np.ndarray:
    """``Phi_2(h, k; rho) = P(Z_1 <= h, Z_2 <= k)`` for standard normals with correlation ``rho``.

    Owen's formula (Owen 1956; DLMF 7.22-type reduction to Owen's T):

        Phi_2 = (Phi(h) + Phi(k))/2 - T(h, a_h) - T(k, a_k) - delta,
        a_h = (k - rho h) / (h s),  a_k = (h - rho k) / (k s),  s = sqrt(1 - rho^2),

    with ``delta = 1/2`` if ``hk < 0`` or (``hk = 0`` and ``h + k < 0``), else 0;
    ``T(0, +-inf) = +-1/4`` handles ``h = 0`` or ``k = 0``, and
    ``Phi_2(0, 0; rho) = 1/4 + arcsin(rho)/(2 pi)``. ``|rho| = 1`` uses the limits
    ``Phi(min(h, k))`` and ``max(0, Phi(h) + Phi(k) - 1)``. Accurate to about
    1e-15 absolutely (``scipy.special.owens_t``), unlike
    ``scipy.stats.multivariate_normal``, whose default tolerance is 1e-5.

    Parameters
    ----------
    h, k, rho : array_like
        Broadcast together; ``|rho| <= 1``. ``h`` and ``k`` may be ``+-inf``
        (the marginal limits); NaN and complex values raise. Correct for all
        scales, ``1e-300`` to ``1e300`` (the sign of ``h k`` is taken from the
        signs, never from the product, which underflows).

    Returns
    -------
    float or numpy.ndarray
        ``Phi_2(h, k; rho)``, a float when all arguments are scalars.

    Raises
    ------
    TypeError
        ``h``, ``k`` or ``rho`` not numeric.
    ValueError
        NaN in ``h`` or ``k`` (infinities are allowed), ``rho`` not finite or
        outside ``[-1, 1]``.

    Examples
    --------
    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 12)  # 1/4 + 1/12
    0.333333333333
    """
    h = as_real_array(h, "h", allow_inf=True)
    k = as_real_array(k, "k", allow_inf=True)
    rho = as_finite_array(rho, "rho")
    h, k, rho = np.broadcast_arrays(h, k, rho)
    if np.any(np.abs(rho) > 1 + 1e-12):
        raise ValueError(f"rho: expected correlations in [-1, 1], got max |rho| = {np.max(np.abs(rho)):.6g}")
    rho = np.clip(rho, -1.0, 1.0)
    s = np.sqrt(np.maximum(1.0 - rho * rho, 0.0))
    out = np.empty(h.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a_h = np.where(h != 0, (k - rho * h) / (h * s), np.sign(k) * np.inf)
        a_k = np.where(k != 0, (h - rho * k) / (k * s), np.sign(h) * np.inf)
    t_h = np.where(h != 0, special.owens_t(h, np.nan_to_num(a_h, nan=0.0)), np.sign(k) * 0.25)
    t_k = np.where(k != 0, special.owens_t(k, np.nan_to_num(a_k, nan=0.0)), np.sign(h) * 0.25)
    # The sign of h k from the signs, not the product: 1e-200 * -1e-200 underflows to -0.0.
    sign_hk = np.sign(h) * np.sign(k)
    delta = np.where((sign_hk < 0) | ((sign_hk == 0) & (h + k < 0)), 0.5, 0.0)
    out[...] = 0.5 * (special.ndtr(h) + special.ndtr(k)) - t_h - t_k - delta
    zero = (h == 0) & (k == 0)
    out[zero] = 0.25 + np.arcsin(rho[zero]) / (2 * math.pi)
    plus, minus = rho >= 1.0, rho <= -1.0
    out[plus] = special.ndtr(np.minimum(h, k))[plus]
    out[minus] = np.maximum(0.0, special.ndtr(h) + special.ndtr(k) - 1.0)[minus]
    return out if out.ndim else float(out)


def _std_kernel(beta, gamma, rho):
    """``K = E[(Z_1 + beta)_+ (Z_2 + gamma)_+]``, ``(Z_1, Z_2)`` standard with correlation ``rho``.

    With ``h = -beta``, ``k = -gamma``, ``1 = 1{Z_1 > h, Z_2 > k}`` and Stein's lemma
    ``E[Z_1 G] = E[d_1 G] + rho E[d_2 G]``:
    ``E[1] = Phi_2(beta, gamma; rho)``,
    ``E[Z_1 1] = phi(h) A + rho phi(k) B``, ``E[Z_2 1] = phi(k) B + rho phi(h) A``,
    ``E[Z_1 Z_2 1] = phi(h)(rho h A + s phi((k - rho h)/s)) + rho E[1] + rho k phi(k) B``
    with ``A = Phi((gamma - rho beta)/s)``, ``B = Phi((beta - rho gamma)/s)``; then
    ``K = E[Z_1 Z_2 1] - k E[Z_1 1] - h E[Z_2 1] + h k E[1]``.
    """
    beta, gamma, rho = np.broadcast_arrays(beta, gamma, rho)
    rho = np.clip(rho, -1.0, 1.0)
    h, k = -beta, -gamma
    K = np.empty(beta.shape)
    # |rho| within 1e-12 of 1: by Price's theorem dK/drho = P(Z_1 > h, Z_2 > k) <= 1,
    # so using the rho = +-1 limit costs at most 1e-12.
    near_p = rho >= 1.0 - 1e-12
    near_m = rho <= -1.0 + 1e-12
    gen = ~(near_p | near_m)
    if np.any(gen):
        hh, kk, r = h[gen], k[gen], rho[gen]
        s = np.sqrt(1.0 - r * r)
        P = bivariate_normal_cdf(-hh, -kk, r)
        A = normal_cdf((r * hh - kk) / s)
        B = normal_cdf((r * kk - hh) / s)
        ph, pk = normal_pdf(hh), normal_pdf(kk)
        EX = ph * A + r * pk * B
        EY = pk * B + r * ph * A
        EXY = ph * (r * hh * A + s * normal_pdf((kk - r * hh) / s)) + r * P + r * kk * pk * B
        K[gen] = EXY - kk * EX - hh * EY + hh * kk * P
    if np.any(near_p):  # Z_2 = Z_1: E[(Z - h)(Z - k) 1{Z > max(h, k)}]
        hh, kk = h[near_p], k[near_p]
        mm = np.maximum(hh, kk)
        tail, pm = normal_cdf(-mm), normal_pdf(mm)
        K[near_p] = (tail + mm * pm) - (hh + kk) * pm + hh * kk * tail
    if np.any(near_m):  # Z_2 = -Z_1: integral of (z - h)(-z - k) phi(z) over h < z < -k
        lo, hi = h[near_m], -k[near_m]
        hi = np.maximum(hi, lo)
        dP = normal_cdf(hi) - normal_cdf(lo)
        m2 = dP + lo * normal_pdf(lo) - hi * normal_pdf(hi)
        m1 = normal_pdf(lo) - normal_pdf(hi)
        hh, kk = h[near_m], k[near_m]
        K[near_m] = -m2 - (kk - hh) * m1 + hh * kk * dP
    return np.maximum(K, 0.0)


def relu_gaussian_kernel(V1: ArrayLike, b1: ArrayLike, V2: ArrayLike, b2: ArrayLike) -> np.ndarray:
    """Closed-form ``E[sigma(v.x + b) sigma(u.x + c)]`` for ``x ~ N(0, I_d)``, all pairs.

    ``s = v.x + b`` and ``t = u.x + c`` are jointly Gaussian with means ``(b, c)``,
    variances ``|v|^2, |u|^2`` and covariance ``v.u``; hence::

        E[sigma(s) sigma(t)] = |v| |u| K(b/|v|, c/|u|, v.u/(|v||u|)),
        K(beta, gamma, rho) = E[(Z_1 + beta)_+ (Z_2 + gamma)_+],

    a 2-D Gaussian integral evaluated exactly with the bivariate normal CDF
    (:func:`bivariate_normal_cdf`, via Owen's T). For ``b = c = 0`` this is the
    degree-1 arc-cosine kernel of Cho and Saul,
    ``|v||u| (sin theta + (pi - theta) cos theta) / (2 pi)``, i.e.
    :func:`relulib.relu_kernel` (which evaluates biased pairs one at a time by
    quadrature; this function is closed-form and vectorised over all pairs). Zero rows give
    ``sigma(b) E[sigma(u.x + c)]`` with ``E[sigma(u.x + c)] = |u| (gamma Phi(gamma) + phi(gamma))``.

    Parameters
    ----------
    V1 : array_like of shape (k1, d)
    b1 : array_like of shape (k1,) or None
    V2 : array_like of shape (k2, d)
    b2 : array_like of shape (k2,) or None

    Returns
    -------
    ndarray of shape (k1, k2)

    Raises
    ------
    ValueError
        ``V1``, ``V2`` not non-empty finite 2-D arrays with the same number of
        columns, ``b1``, ``b2`` not finite of lengths ``k1``, ``k2``, or a kernel
        that overflows.

    Examples
    --------
    >>> K = relu_gaussian_kernel([[1.0, 0.0]], None, [[1.0, 0.0]], None)
    >>> round(float(K[0, 0]), 12)  # E[sigma(z)^2] = 1/2
    0.5
    """
    V1 = as_finite_array(V1, "V1", ndim=2, nonempty=True)
    V2 = as_finite_array(V2, "V2", ndim=2, nonempty=True)
    if V1.shape[1] != V2.shape[1]:
        raise ValueError(f"V2: expected {V1.shape[1]} columns (those of V1), got shape {V2.shape}")
    b1 = np.zeros(V1.shape[0]) if b1 is None else as_finite_array(b1, "b1", shape=(V1.shape[0],))
    b2 = np.zeros(V2.shape[0]) if b2 is None else as_finite_array(b2, "b2", shape=(V2.shape[0],))
    n1, n2 = scaled_norm(V1, axis=1), scaled_norm(V2, axis=1)
    z1, z2 = n1 == 0, n2 == 0
    s1, s2 = np.where(z1, 1.0, n1), np.where(z2, 1.0, n2)
    beta, gamma = b1 / s1, b2 / s2
    rho = (V1 / s1[:, None]) @ (V2 / s2[:, None]).T
    K = n1[:, None] * n2[None, :] * _std_kernel(beta[:, None], gamma[None, :], rho)
    mean1 = n1 * relu_gaussian_mean(beta)  # E[sigma(v.x + b)]
    mean2 = n2 * relu_gaussian_mean(gamma)
    K = np.where(z1[:, None], np.maximum(b1, 0.0)[:, None] * mean2[None, :], K)
    K = np.where(z2[None, :], mean1[:, None] * np.maximum(b2, 0.0)[None, :], K)
    K = np.where(z1[:, None] & z2[None, :], np.outer(np.maximum(b1, 0.0), np.maximum(b2, 0.0)), K)
    return check_finite_result(K, "the kernel matrix", inputs="V1, b1, V2, b2",
                               hint="expected weights and biases of moderate scale: rescale them")


def relu_kernel(w: ArrayLike, v: ArrayLike, b: float = 0.0, c: float = 0.0, *,
                n_nodes: int | None = None) -> float:
    """Deprecated: ``E[sigma(w.x + b) sigma(v.x + c)]`` for one pair of units.

    .. deprecated:: 0.1.0
        Use ``relu_gaussian_kernel([w], [b], [v], [c])[0, 0]``, which evaluates the
        same integral in closed form for all pairs at once. This function is a thin
        wrapper of it (it used a one-dimensional quadrature for biased units, which
        agreed with the closed form to about 1e-13); ``n_nodes`` is ignored.

    Parameters
    ----------
    w, v : array_like of shape (d,)
        Non-zero weight vectors.
    b, c : float
        Biases.
    n_nodes : int, optional
        Ignored (the number of quadrature nodes of the former implementation).

    Returns
    -------
    float
        The kernel value.

    Raises
    ------
    TypeError
        ``n_nodes`` not an integer or None.
    ValueError
        ``w`` not a non-empty finite vector, ``v`` not finite of its length, ``b``
        or ``c`` not finite scalars, ``w`` or ``v`` the zero vector, or
        ``n_nodes`` below 1.

    See Also
    --------
    relu_gaussian_kernel : The closed form, for all pairs.
    """
    warnings.warn("relu_kernel is deprecated: use relu_gaussian_kernel([w], [b], [v], [c])[0, 0]",
                  DeprecationWarning, stacklevel=2)
    w = as_finite_array(w, "w", ndim=1, nonempty=True)
    v = as_finite_array(v, "v", shape=(w.shape[0],))
    b = as_finite_array(b, "b", ndim=0)
    c = as_finite_array(c, "c", ndim=0)
    if n_nodes is not None:
        as_positive_int(n_nodes, "n_nodes")
    for name, vector in (("w", w), ("v", v)):
        if not np.any(vector):
            raise ValueError(f"{name}: expected a non-zero weight vector, got the zero vector")
    return float(relu_gaussian_kernel(w[None, :], b[None], v[None, :], c[None])[0, 0])


def relu_tail_l2(b: ArrayLike) -> float | np.ndarray:
    """Squared L2 cost of replacing ``sigma(z + b)`` by its large-``|b|`` limit.

    For ``b > 0`` the unit is replaced by the affine function ``z + b``, for ``b < 0``
    by 0 (ATV21, Section 3; the book's appendix on the reconstructions, large biases).
    In both cases, by ``sigma(t) - t = sigma(-t)``::

        E[(sigma(z + b) - limit)^2] = E[sigma(z - |b|)^2]
                                    = (1 + b^2) Phi(-|b|) - |b| phi(b),   z ~ N(0, 1).

    For a unit ``sigma(w.x + b)`` with ``|w| = 1`` the difference is a ReLU of a
    standard normal shifted by ``-|b|``, so the cost is the same.

    Parameters
    ----------
    b : array_like
        Biases (finite).

    Returns
    -------
    float or numpy.ndarray
        The cost, a float for a scalar ``b``, else of the shape of ``b``. Beyond
        ``|b| = 38`` it is below 1e-300 and returned as 0 (never the NaN of
        ``inf * 0``); it is never negative.

    Raises
    ------
    TypeError
        ``b`` not numeric.
    ValueError
        ``b`` not finite.

    See Also
    --------
    relulib.large_bias_surrogate : The network with the large units replaced.

    Examples
    --------
    >>> round(float(relu_tail_l2(3.0)), 6)
    0.000203
    >>> f"{relu_tail_l2(2.0):.1e}"
    '5.8e-03'
    """
    b = np.abs(as_finite_array(b, "b"))
    with np.errstate(over="ignore", invalid="ignore"):
        out = (1.0 + b * b) * normal_cdf(-b) - b * normal_pdf(b)
    out = np.where(b > 38.0, 0.0, np.maximum(out, 0.0))  # underflow: 0, not inf * 0 = NaN
    return float(out) if out.ndim == 0 else out


def large_bias_replacement_error(b: ArrayLike) -> float | np.ndarray:
    """Deprecated name of :func:`relu_tail_l2` (the same function).

    .. deprecated:: 0.1.0
        Use :func:`relu_tail_l2`.

    Parameters
    ----------
    b : array_like
        Biases (finite).

    Returns
    -------
    float or numpy.ndarray
        ``relu_tail_l2(b)``.

    Raises
    ------
    TypeError
        ``b`` not numeric.
    ValueError
        ``b`` not finite.

    See Also
    --------
    relu_tail_l2 : The function itself.
    """
    warnings.warn("large_bias_replacement_error is deprecated: use relu_tail_l2",
                  DeprecationWarning, stacklevel=2)
    return relu_tail_l2(b)
