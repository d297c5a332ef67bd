"""Fuzz test (issue 15): every public callable of relulib that takes data, called with a table of
bad inputs, must raise a clear TypeError/ValueError whose message starts with the name of one of
its parameters, or return a finite result (only for real, finite, extreme-scale inputs). Each call
runs under a time limit (signal.alarm) in a subprocess whose address space is capped
(RLIMIT_AS), so a hang or a runaway allocation fails the test instead of the machine."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(r'''
    import dataclasses, inspect, json, re, resource, signal, sys, warnings
    import numpy as np
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
    import relulib as rl

    class Timeout(Exception):
        pass

    def on_alarm(signum, frame):
        raise Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    rng = np.random.default_rng(0)
    BAD = {
        "nan": np.full((20, 3), np.nan),
        "inf": np.full((20, 3), np.inf),
        "complex": rng.standard_normal((20, 3)) + 1j,
        "empty": np.zeros((0, 3)),
        "3d": np.zeros((2, 2, 2)),
        "string": "abc",
        "none_dict": {"a": 1},
    }
    SCALE = {"huge": rng.standard_normal((20, 3)) * 1e200, "tiny": rng.standard_normal((20, 3)) * 1e-200}
    # Elementwise or any-order functions: empty and higher-dimensional arrays are valid input.
    ANY_SHAPE = {"bivariate_normal_cdf", "normal_cdf", "normal_pdf", "relu_tail_l2", "relu_gaussian_mean",
                 "large_bias_replacement_error", "contract_last_modes", "flattening_rank",
                 "tensor_power_method", "khatri_rao", "kruskal_rank"}
    # +-inf is a valid argument of the normal distribution functions (the limits).
    INF_OK = {"bivariate_normal_cdf", "normal_cdf", "normal_pdf"}
    # Eigenvalues may be complex (a conjugate pair is a scored outcome of a Jennrich draw).
    COMPLEX_OK = {"eigenvalue_separation"}
    results = []
    for name in sorted(rl.__all__):
        obj = getattr(rl, name)
        if not callable(obj) or isinstance(obj, type) and issubclass(obj, BaseException):
            continue
        if dataclasses.is_dataclass(obj):  # result records, not functions of data
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            continue
        required = [p for p in sig.parameters.values()
                    if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if not required:
            continue
        names = set(sig.parameters)
        for label, value in list(BAD.items()) + list(SCALE.items()):
            args = [value] * len(required)
            outcome = "ok"
            signal.alarm(5)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with np.errstate(all="ignore"):
                        out = obj(*args)
                signal.alarm(0)
                allowed = (label in ("empty", "3d") and name in ANY_SHAPE) or (
                    label == "inf" and name in INF_OK)
                if label in BAD and not allowed:
                    outcome = "returned a result for bad input"
                else:
                    vals = [out] if not isinstance(out, tuple) else list(out)
                    for v in vals:
                        if isinstance(v, (np.ndarray, float, np.floating)) and np.issubdtype(np.asarray(v).dtype, np.number) and not np.all(np.isfinite(v)):
                            outcome = "non-finite result"
            except (TypeError, ValueError) as exc:
                signal.alarm(0)
                msg = str(exc)
                m = re.match(r"^([A-Za-z_][A-Za-z_0-9]*(?:, [A-Za-z_][A-Za-z_0-9]*)*)(?:\[\d+\])?:", msg)
                if not m or not set(m.group(1).split(", ")) <= names:
                    outcome = f"{type(exc).__name__} without a parameter name: {msg[:120]}"
                elif (label == "none_dict" or label == "complex" and name not in COMPLEX_OK) and not isinstance(exc, TypeError):
                    outcome = f"ValueError instead of TypeError: {msg[:120]}"
            except Timeout:
                outcome = "timeout (5 s)"
            except MemoryError:
                signal.alarm(0)
                outcome = "MemoryError (3 GiB address-space cap)"
            except Exception as exc:
                signal.alarm(0)
                outcome = f"{type(exc).__name__}: {str(exc)[:120]}"
            results.append([name, label, outcome])
    json.dump(results, sys.stdout)
''')

# Known failures at the time of writing, each a to-do of issue 15 (kept visible, not hidden):
KNOWN = set()


@pytest.fixture(scope="module")
def outcomes():
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_fuzz_covers_the_public_api(outcomes):
    assert len({name for name, _, _ in outcomes}) >= 50


def test_fuzz_every_outcome_is_clear(outcomes):
    bad = [(n, l, o) for n, l, o in outcomes if o != "ok" and (n, l) not in KNOWN]
    assert not bad, "\n".join(f"{n}({l}): {o}" for n, l, o in bad)


# ---------------------------------------------------------------------------
# One bad argument at a time (tests/fuzz_one_argument.py): from a valid call of each
# public function, each argument in turn is replaced by each bad input of its kind; the
# error must name *that* parameter.
# ---------------------------------------------------------------------------
ONE_ARGUMENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_one_argument.py")

# Outcomes still wrong, each a to-do of issue 15, would be listed here so that they stay
# visible while any new failure fails the test. None is left: huge integer options are
# refused up front by the validation layer (MAX_REPETITIONS, MAX_DEGREE, MAX_ARRAY_ENTRIES,
# MAX_FULL_TENSOR_ENTRIES), computations that overflow at 1e200 (or underflow at 1e-200)
# raise a ValueError naming overflow and the inputs to rescale, and empty arrays are
# refused where they are parsed, so the error names them and not their partner.
KNOWN_ONE_ARGUMENT: set[tuple[str, str, str]] = set()


@pytest.fixture(scope="module")
def one_argument_outcomes():
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, ONE_ARGUMENT], capture_output=True, text=True,
                          timeout=1200, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_one_argument_fuzz_covers_every_public_function(one_argument_outcomes):
    import dataclasses
    import inspect

    import relulib as rl

    called = {name for name, _, _, _ in one_argument_outcomes}
    takes_arguments = set()
    for name in rl.__all__:
        obj = getattr(rl, name)
        if not callable(obj) or isinstance(obj, type) and issubclass(obj, BaseException):
            continue
        if dataclasses.is_dataclass(obj):
            continue
        if any(p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
               for p in inspect.signature(obj).parameters.values()):
            takes_arguments.add(name)
    # flatten takes its group sizes as *args (the whole-call fuzz above covers it); the
    # Dask entry points need the optional extra relulib[dask] (installed in CI)
    uncovered = {"flatten"}
    if importlib.util.find_spec("dask") is None:
        uncovered |= {"gaussian_samples_dask", "reduce_moments"}
    assert takes_arguments - called == uncovered, takes_arguments - called
    valid = {name: outcome for name, param, label, outcome in one_argument_outcomes if label == "valid call"}
    assert all(outcome == "ok" for outcome in valid.values()), valid
    assert len(one_argument_outcomes) > 1500


def test_one_argument_fuzz_every_outcome_is_clear(one_argument_outcomes):
    bad = [(n, p, l, o) for n, p, l, o in one_argument_outcomes
           if o != "ok" and (n, p, l) not in KNOWN_ONE_ARGUMENT]
    assert not bad, "\n".join(f"{n}({p}={l}): {o}" for n, p, l, o in bad)
    fixed = KNOWN_ONE_ARGUMENT - {(n, p, l) for n, p, l, o in one_argument_outcomes if o != "ok"}
    assert not fixed, f"fixed since: remove from KNOWN_ONE_ARGUMENT: {sorted(fixed)}"
