"""No module of relulib imports another module's private names.

Each module's private helpers (a leading underscore) are its own business; what another
module needs is public (in that module, or in a private module such as ``_validation``
whose names are public to the package). The scan reads the import statements and the
attribute accesses of every ``relulib/*.py`` with :mod:`ast`.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "relulib"
MODULES = sorted(PACKAGE.glob("*.py"))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(path):
    """``(line, text)`` of every use of another module's private name in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = path.stem
    imported_modules = {}  # local name -> relulib module it refers to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            inside = node.level > 0 or module.startswith("relulib")
            if not inside:
                continue
            target = module.split(".")[-1] if module else ""
            for alias in node.names:
                if not target or target == "relulib":  # from . import x: a module (private ones allowed)
                    imported_modules[alias.asname or alias.name] = alias.name
                elif target != own and _private(alias.name):
                    found.append((node.lineno, f"from {'.' * node.level}{module} import {alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("relulib."):
                    imported_modules[alias.asname or alias.name.split(".")[-1]] = alias.name.split(".")[-1]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules and imported_modules[node.value.id] != own
                and _private(node.attr)):
            found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


def test_scan_finds_a_private_import(tmp_path):
    # the check can fail: both forms are caught in a module written for the purpose
    bad = tmp_path / "fake.py"
    bad.write_text("from .atv21 import _sample_moments\nfrom . import refine\n"
                   "def f():\n    return refine._PatternLeastSquares\n", encoding="utf-8")
    assert [text for _, text in private_imports(bad)] == [
        "from .atv21 import _sample_moments", "refine._PatternLeastSquares"]
    ok = tmp_path / "ok.py"
    ok.write_text("from ._validation import as_rng\nfrom .networks import TwoLayerNetwork\n",
                  encoding="utf-8")
    assert private_imports(ok) == []


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_no_private_names_across_modules(path):
    found = private_imports(path)
    assert not found, f"{path.name} uses other modules' private names: {found}"
