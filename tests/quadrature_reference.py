"""Independent references for the tests of Gaussian integrals (not a test file).

2-D Gauss-Legendre quadrature on the region where both units are active, used by
tests/test_gaussian.py (the kernel) and tests/test_identifiability.py (the L2 distance).
"""

import math

import numpy as np

XG, WG = np.polynomial.legendre.leggauss(160)
L = 12.0  # Gaussian mass beyond 12 standard deviations is below 1e-32


def gauss_legendre(lo, hi):
    return 0.5 * (hi - lo) * XG + 0.5 * (hi + lo), 0.5 * (hi - lo) * WG


def phi(t):
    return np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)


def quadrature_kernel(beta, gamma, rho):
    """E[(Z1 + beta)_+ (Z2 + gamma)_+] by 2-D Gauss-Legendre quadrature against the Gaussian density.

    Z2 = rho Z1 + s Z' with Z' independent; the integrand is a polynomial times a Gaussian on
    the wedge {Z1 > -beta, Z' > (-gamma - rho Z1)/s}, so Gauss quadrature on the wedge converges
    spectrally (tensor-product Gauss-Hermite on the kinked integrand would not).
    """
    s = math.sqrt(1 - rho * rho)
    lo1 = max(-beta, -L)
    z1, w1 = gauss_legendre(lo1, L)
    total = 0.0
    for z, w in zip(z1, w1):
        lo2 = max((-gamma - rho * z) / s, -L)
        if lo2 >= L:
            continue
        z2, w2 = gauss_legendre(lo2, L)
        total += w * phi(z) * (z + beta) * np.sum(w2 * phi(z2) * (rho * z + s * z2 + gamma))
    return total
