"""The public API contract of BOOK.md, and the doctests of every module."""

import doctest
import importlib
import pkgutil

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
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
