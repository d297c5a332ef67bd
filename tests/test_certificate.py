"""Tests of relulib.certificate: the one result type, the tolerance and the warning."""

import dataclasses
import warnings

import numpy as np
import pytest

import relulib as rl


def test_one_tolerance_and_home_of_the_certificate_names():
    from relulib import atv21, bjw19, certificate, fpt

    assert rl.CERTIFICATE_TOL == certificate.CERTIFICATE_TOL == 1e-8
    assert rl.CertificateWarning is certificate.CertificateWarning
    assert issubclass(rl.CertificateWarning, RuntimeWarning)
    assert rl.relative_residual is certificate.relative_residual
    # every recovery defaults to the one tolerance
    import inspect

    for f in (bjw19.recover_exact, bjw19.recover_noisy, atv21.recover_with_bias, fpt.recover_fpt):
        assert inspect.signature(f).parameters["tolerance"].default == rl.CERTIFICATE_TOL, f


def test_recovery_result_is_frozen_with_optional_method_fields(planted):
    net, X, Y = planted(5, 2, m=3, n=2000, seed=0)
    result = rl.recover_exact(X, Y, 2, rng=2)
    assert result.offset is None and result.span is None and result.search_iterations is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.certified = False


def test_tolerance_decides_certified_and_the_warning(planted):
    _, X, Y = planted(6, 2, m=3, n=3000, activation="squared_relu", seed=0)
    with pytest.warns(rl.CertificateWarning, match="relative residual") as caught:
        result = rl.recover_exact(X, Y, 2, activation="relu", rng=2)
    assert not result.certified and result.residual > rl.CERTIFICATE_TOL
    assert f"{result.residual:.3e}" in str(caught[0].message)
    # a tolerance above the measured residual certifies the same answer, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.CertificateWarning)
        loose = rl.recover_exact(X, Y, 2, activation="relu", tolerance=2 * result.residual, rng=2)
    assert loose.certified and loose.residual == result.residual


@pytest.mark.parametrize("bad, error", [(0.0, ValueError), (-1e-3, ValueError),
                                        (np.inf, ValueError), ("tight", TypeError)])
def test_bad_tolerance_names_the_parameter(bad, error, planted):
    _, X, Y = planted(5, 2, m=3, n=2000, seed=0)
    with pytest.raises(error, match="tolerance: expected a positive"):
        rl.recover_exact(X, Y, 2, tolerance=bad)
