#!/usr/bin/env bash
# Run the library's tests against the lowest versions pyproject.toml declares.
#
#   bash tools/test_floors.sh   # ~6 min wall on a busy 2-core machine (1.5 min CPU): venv + tests
#
# pyproject.toml promises `requires-python >= 3.10`, numpy >= 1.26, scipy >= 1.11,
# sympy >= 1.12 and threadpoolctl >= 3.1. This script creates a fresh virtual environment with the interpreter
# given by $PYTHON (default python3), installs exactly those floors (the newest patch
# release of each floor's minor version) with pytest and hypothesis, installs relulib
# from this checkout as a regular (not editable) package, and runs the library tests
# (`tests/`, `-m "not slow"`, no notebooks). Tests that need the book's tools (nbformat,
# PyYAML, JupyterLab, otter, TensorLy, numpydoc) skip themselves: they are not runtime
# dependencies of the library.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
python=${PYTHON:-python3}

# The floors, one place: keep them in step with [project] dependencies in pyproject.toml.
floors=("numpy==1.26.*" "scipy==1.11.*" "sympy==1.12.*" "threadpoolctl==3.1.*")
tools=("pytest==9.0.3" "hypothesis==6.155.2")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/venv"
py="$tmp/venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check "${floors[@]}" "${tools[@]}"
# A regular (not editable) install, built from a copy of the package's files so that
# the build leaves nothing in the checkout.
mkdir "$tmp/src"
cp -r pyproject.toml README.md LICENSE MANIFEST.in relulib "$tmp/src/"
rm -rf "$tmp/src/relulib/__pycache__"
"$py" -m pip install --quiet --disable-pip-version-check --no-deps "$tmp/src"
"$py" -m pip check --disable-pip-version-check

echo "== floor environment"
# From $tmp, without PYTHONPATH: `python -` puts the working directory on sys.path.
(cd "$tmp" && env -u PYTHONPATH "$py" - <<'PY'
import sys, numpy, scipy, sympy, relulib
print("python", sys.version.split()[0], "numpy", numpy.__version__, "scipy", scipy.__version__,
      "sympy", sympy.__version__)
print("relulib", relulib.__version__, "from", relulib.__file__)
assert "site-packages" in relulib.__file__, "relulib must be the installed copy, not the checkout"
PY
)

# `pytest` (not `python -m pytest`) so that the checkout is not put on sys.path: the
# tests import the installed relulib. The project's addopts name nbval, which is not
# installed here: they are replaced.
cd "$root"
env -u PYTHONPATH "$tmp/venv/bin/pytest" tests -m "not slow" -o addopts="-ra" -p no:cacheprovider -q "$@"
