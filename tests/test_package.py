"""The public API contract of BOOK.md, and the doctests of every module."""

import doctest
import importlib
import importlib.util
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import relulib as rl

CONTRACT = [
    "TwoLayerNetwork",
    "random_network",
    "gaussian_samples",
    "parameter_error",
    "hermite_coefficients",
    "empirical_hermite_tensor",
    "jennrich",
]


def test_contract_names_are_exported():
    for name in CONTRACT:
        assert name in rl.__all__ and callable(getattr(rl, name)), name
    for name in rl.__all__:
        assert hasattr(rl, name), name
    assert len(set(rl.__all__)) == len(rl.__all__)  # no name exported by two modules


def test_every_public_module_is_exported():
    for info in pkgutil.iter_modules(rl.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"relulib.{info.name}")
            assert set(module.__all__) <= set(rl.__all__), info.name


MODULES = ["relulib"] + [f"relulib.{m.name}" for m in pkgutil.iter_modules(rl.__path__)]


@pytest.mark.parametrize("module", MODULES)
def test_doctests(module):
    if module == "relulib.scaleout" and importlib.util.find_spec("dask") is None:
        pytest.skip("the examples of relulib.scaleout need the optional extra relulib[dask]")
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# ---------------------------------------------------------------------------
# Annotations (PEP 484) on every public function and method
# ---------------------------------------------------------------------------
def _public_callables():
    """``(qualified name, function)`` for every public function of relulib.__all__ and every
    public method, property and ``__init__``/``__call__`` of its public classes (exceptions
    and the generated ``__init__`` of dataclasses excluded)."""
    import dataclasses
    import inspect

    for name in rl.__all__:
        obj = getattr(rl, name)
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_") and attr not in ("__init__", "__call__"):
                    continue
                if attr == "__init__" and dataclasses.is_dataclass(obj):
                    continue
                if isinstance(member, property):
                    member = member.fget
                elif isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{name}.{attr}", member
        elif inspect.isfunction(obj):
            yield name, obj


def _missing_annotations(func):
    import inspect
    import typing

    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if sig.return_annotation is inspect.Signature.empty:
        missing.append("return")
    typing.get_type_hints(func)  # every annotation names something that exists
    return missing


def test_every_public_function_is_annotated():
    found = list(_public_callables())
    assert len(found) > 100  # the walk reaches the functions and the methods (112 today)
    bad = {name: missing for name, func in found if (missing := _missing_annotations(func))}
    assert not bad, f"unannotated parameters or returns: {bad}"


def test_annotation_check_can_fail():
    def unannotated(x, y: int):
        return x

    def annotated(x: int) -> int:
        return x

    assert _missing_annotations(unannotated) == ["x", "return"]
    assert _missing_annotations(annotated) == []


@pytest.mark.slow  # a fresh venv with numpy 1.26, scipy 1.11, sympy 1.12: 2-5 minutes
def test_library_tests_pass_at_the_declared_floors():
    """pyproject.toml's lowest versions are exercised, not just declared (tools/test_floors.sh)."""
    if shutil.which("bash") is None:
        pytest.skip("tools/test_floors.sh needs bash")
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run(
        ["bash", str(root / "tools" / "test_floors.sh"), "-x"],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True, text=True, timeout=1200,
    )
    tail = (run.stdout + run.stderr)[-3000:]
    assert run.returncode == 0, tail
    assert "numpy 1.26" in run.stdout and "scipy 1.11" in run.stdout, tail
    assert " passed" in run.stdout, tail
