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
        # one attempt (no restarts), so that both calls compute the same answer
        result = rl.recover_exact(X, Y, 2, activation="relu", rng=2, n_trials=1)
    assert not result.certified and result.residual > rl.CERTIFICATE_TOL
    assert f"{result.residual:.3e}" in str(caught[0].message)
    # a tolerance above the measured residual certifies the same answer, silently
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.CertificateWarning)
        loose = rl.recover_exact(X, Y, 2, activation="relu", tolerance=2 * result.residual, rng=2,
                                 n_trials=1)
    assert loose.certified and loose.residual == result.residual


@pytest.mark.parametrize("bad, error", [(0.0, ValueError), (-1e-3, ValueError),
                                        (np.inf, ValueError), ("tight", TypeError)])
def test_bad_tolerance_names_the_parameter(bad, error, planted):
    _, X, Y = planted(5, 2, m=3, n=2000, seed=0)
    with pytest.raises(error, match="tolerance: expected a positive"):
        rl.recover_exact(X, Y, 2, tolerance=bad)


# ---------------------------------------------------------------------------
# Identifiability diagnostics: what the samples cannot determine
# ---------------------------------------------------------------------------
def _recover_quietly(f, *args, **kwargs):
    """Run a recovery, returning (result, IdentifiabilityWarnings, other warning categories)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = f(*args, **kwargs)
    ident = [w for w in caught if issubclass(w.category, rl.IdentifiabilityWarning)]
    return result, ident


def _named_units(message):
    import re

    head = re.match(r"[a-z_]+: units? ([\d, and]+?) (is|has|lie|have)", str(message))
    assert head, message
    return {int(u) for u in re.findall(r"\d+", head.group(1))}


def test_identifiability_names_live_in_certificate():
    from relulib import certificate

    assert rl.IdentifiabilityWarning is certificate.IdentifiabilityWarning
    assert issubclass(rl.IdentifiabilityWarning, UserWarning)
    assert rl.identifiability_diagnostics is certificate.identifiability_diagnostics


def _net_with(U, V, b=None):
    return rl.TwoLayerNetwork(np.atleast_2d(U), V, b)


@pytest.mark.parametrize("unit", [0, 2])
def test_diagnostics_name_the_never_active_unit(unit):
    base = rl.random_network(6, 3, m=2, bias_scale=0.5, rng=0)
    b = base.b.copy()
    b[unit] = -40.0  # v.x + b > 0 never happens for |x| of Gaussian size
    net = _net_with(base.U, base.V, b)
    X = np.random.default_rng(1).standard_normal((5000, 6))
    findings = rl.identifiability_diagnostics(net, X)
    assert [(f.kind, f.units) for f in findings] == [("never_active", (unit,))]
    assert f"unit {unit} is active" in findings[0].message and "0 of 5000" in findings[0].message
    assert "may still fit the samples" in findings[0].message


def test_diagnostics_name_the_zero_output_weight():
    base = rl.random_network(6, 3, m=2, rng=0)
    U = base.U.copy()
    U[:, 1] = 1e-9
    findings = rl.identifiability_diagnostics(_net_with(U, base.V), np.random.default_rng(1).standard_normal((2000, 6)))
    assert [(f.kind, f.units) for f in findings] == [("zero_output_weight", (1,))]


def test_diagnostics_name_duplicated_units_and_dependent_activations():
    base = rl.random_network(6, 4, m=2, bias_scale=1.0, rng=0)
    V, b = base.V.copy(), base.b.copy()
    V[3], b[3] = 2.0 * V[1], 2.0 * b[1]  # the same unit, rescaled: one hyperplane
    X = np.random.default_rng(1).standard_normal((3000, 6))
    findings = rl.identifiability_diagnostics(_net_with(base.U, V, b), X)
    assert [(f.kind, f.units) for f in findings] == [("duplicate", (1, 3))]
    # Antiparallel with opposite bias is the same hyperplane too.
    V[3], b[3] = -V[1], -b[1]
    assert [(f.kind, f.units) for f in rl.identifiability_diagnostics(_net_with(base.U, V, b), X)] == [
        ("duplicate", (1, 3))]
    # A unit whose activation is a combination of others on the samples: on the
    # samples where units 0, 1, 2 are all active, relu(t0 + t2) = relu(t0) + relu(t2).
    Xh = X[(X @ base.V[0] + base.b[0] > 0) & (X @ base.V[2] + base.b[2] > 0)
           & (X @ base.V[1] + base.b[1] > 0)]
    V2, b2 = base.V.copy(), base.b.copy()
    V2[3], b2[3] = base.V[0] + base.V[2], base.b[0] + base.b[2]  # relu(t0 + t2) = t0 + t2 there
    found = rl.identifiability_diagnostics(_net_with(base.U, V2, b2), Xh)
    assert [f.kind for f in found] == ["dependent_units"] and found[0].units == (0, 2, 3)


def test_diagnostics_on_ordinary_planted_networks_find_nothing(planted):
    for seed in range(5):
        p = planted(8, 4, m=1, n=20_000, bias_scale=1.0, seed=seed)
        assert rl.identifiability_diagnostics(p.net, p.X) == []
        p = planted(8, 8, m=8, n=5000, seed=seed)
        assert rl.identifiability_diagnostics(p.net, p.X) == []


def test_diagnostics_validate_their_arguments():
    net = rl.random_network(3, 2, rng=0)
    with pytest.raises(TypeError, match="^net:"):
        rl.identifiability_diagnostics("net", np.zeros((4, 3)))
    with pytest.raises(ValueError, match="^X:"):
        rl.identifiability_diagnostics(net, np.zeros((4, 5)))


def _assert_warnings_are_the_findings(ident, name, result, X):
    """The warnings are exactly the diagnostics of the returned network, each naming units."""
    findings = rl.identifiability_diagnostics(result.network, X)
    assert findings, f"{name}: no finding on the returned network"
    assert [str(w.message) for w in ident] == [f"{name}: {f.message}" for f in findings]
    for f, w in zip(findings, ident):
        assert _named_units(w.message) == set(f.units)
    return findings


def test_recover_with_bias_warns_for_a_never_active_unit():
    base = rl.random_network(6, 3, bias_scale=1.0, rng=0)
    b = base.b.copy()
    b[2] = -40.0
    net = _net_with(base.U, base.V, b)
    X, Y = rl.gaussian_samples(net, 50_000, rng=1)
    result, ident = _recover_quietly(rl.recover_with_bias, X, Y, 3, rng=2)
    # The function matches on the samples (the certificate passes) but one unit is free:
    # here the method spends it on a second copy of unit 1.
    assert result.certified
    findings = _assert_warnings_are_the_findings(ident, "recover_with_bias", result, X)
    assert {f.kind for f in findings} <= {"never_active", "zero_output_weight", "duplicate"}


def test_recover_with_bias_and_noisy_warn_for_a_zero_output_weight():
    base = rl.random_network(6, 3, bias_scale=1.0, rng=0)
    U = base.U.copy()
    U[:, 1] = 0.0
    net = _net_with(U, base.V, base.b)
    X, Y = rl.gaussian_samples(net, 50_000, rng=1)
    for f, kwargs in ((rl.recover_with_bias, {}), (rl.recover_noisy, {"bias": True})):
        result, ident = _recover_quietly(f, X, Y, 3, rng=2, **kwargs)
        findings = _assert_warnings_are_the_findings(ident, f.__name__, result, X)
        assert [x.kind for x in findings] == ["zero_output_weight"]
        assert abs(result.network.U[0, findings[0].units[0]]) < 1e-8


def test_recover_with_bias_warns_for_a_duplicated_unit():
    base = rl.random_network(6, 3, bias_scale=1.0, rng=0)
    V, b = base.V.copy(), base.b.copy()
    V[2], b[2] = V[1], b[1]
    X, Y = rl.gaussian_samples(_net_with(base.U, V, b), 50_000, rng=1)
    result, ident = _recover_quietly(rl.recover_with_bias, X, Y, 3, rng=2)
    assert result.certified
    _assert_warnings_are_the_findings(ident, "recover_with_bias", result, X)


@pytest.mark.parametrize("method", ["recover_with_bias", "recover_noisy", "recover_fpt"])
def test_a_width_larger_than_the_truth_warns(method):
    true = rl.random_network(6, 2, m=1 if method == "recover_with_bias" else 3,
                             bias_scale=1.0 if method == "recover_with_bias" else 0.0, rng=0)
    X, Y = rl.gaussian_samples(true, 50_000 if method == "recover_with_bias" else 5000, rng=1)
    result, ident = _recover_quietly(getattr(rl, method), X, Y, 3, rng=2)
    assert ident, f"{method} with k = 3 > true width 2 gave no IdentifiabilityWarning"
    _assert_warnings_are_the_findings(ident, method, result, X)


def test_recover_exact_refuses_a_width_larger_than_the_truth():
    true = rl.random_network(6, 2, m=3, rng=0)
    X, Y = rl.gaussian_samples(true, 5000, rng=1)
    with pytest.raises(ValueError, match="rank"):
        rl.recover_exact(X, Y, 3, rng=2)


@pytest.mark.parametrize("seed", range(3))
def test_ordinary_recoveries_raise_no_identifiability_warning(planted, seed):
    p = planted(6, 3, m=3, n=5000, seed=seed)
    for f in (rl.recover_exact, rl.recover_noisy):
        _, ident = _recover_quietly(f, p.X, p.Y, 3, rng=2)
        assert ident == [], (f.__name__, [str(w.message) for w in ident])
    p = planted(6, 3, n=50_000, bias_scale=1.0, seed=seed)
    for f, kwargs in ((rl.recover_with_bias, {}), (rl.recover_noisy, {"bias": True})):
        _, ident = _recover_quietly(f, p.X, p.Y, 3, rng=2, **kwargs)
        assert ident == [], (f.__name__, [str(w.message) for w in ident])
    p = planted(6, 2, m=1, n=5000, seed=seed)
    _, ident = _recover_quietly(rl.recover_fpt, p.X, p.Y, 2, rng=2)
    assert ident == [], [str(w.message) for w in ident]
