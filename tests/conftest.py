"""Fixtures shared by the test files.

``built_book_html``: the HTML of the full book, for the tests that check what a reader
sees (launch links in tests/test_publishing.py, the browser tests).

``planted``: a factory of planted recovery problems (a seeded random network and its
Gaussian samples), the setting of every recovery test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# The tests' own build of the book, beside (never in place of) the README's
# `_build/html`; `_build` is git-ignored and never collected by pytest.
TEST_BOOK = ROOT / "_build" / "test_book"
_BUILT_OK = TEST_BOOK / "built-ok"


def _book_sources():
    """Every file a build of the book reads: its configuration, chapters and library."""
    yield ROOT / "_config.yml"
    yield ROOT / "_toc.yml"
    for folder in ("book", "relulib"):
        for path in (ROOT / folder).rglob("*"):
            skipped = {"_build", ".ipynb_checkpoints", "__pycache__"}
            if path.is_file() and not skipped.intersection(path.parts):
                yield path


@pytest.fixture(scope="session")
def built_book_html() -> Path:
    """The full book's HTML directory, built with the README's options.

    Built once per session with ``jupyter-book build . -W -n --keep-going`` into
    ``_build/test_book`` (HTML in ``_build/test_book/_build/html``); a build that
    succeeded is reused while it is newer than every configuration file, chapter and
    library module, so a second test run costs nothing. A build with a warning or an
    error fails the tests that use this fixture, with the build's log.
    """
    html = TEST_BOOK / "_build" / "html"
    newest_source = max(path.stat().st_mtime for path in _book_sources())
    if (
        _BUILT_OK.exists()
        and (html / "index.html").exists()
        and _BUILT_OK.stat().st_mtime > newest_source
    ):
        return html

    jupyter_book = shutil.which("jupyter-book")
    if jupyter_book is None:
        pytest.fail("jupyter-book is not installed: python3 -m pip install -r requirements.txt")
    _BUILT_OK.unlink(missing_ok=True)
    started = time.time()
    command = [jupyter_book, "build", ".", "-W", "-n", "--keep-going", "--path-output", str(TEST_BOOK)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        log = (result.stdout + result.stderr)[-6000:]
        pytest.fail(f"`{' '.join(command)}` failed (exit {result.returncode}):\n{log}")
    assert (html / "index.html").exists(), f"no {html / 'index.html'} after a clean build"
    # Stamped with the build's start: a source edited during the build makes it stale.
    _BUILT_OK.write_text(" ".join(command) + "\n")
    os.utime(_BUILT_OK, (started, started))
    return html


class Planted(NamedTuple):
    """A planted recovery problem: the true network and its samples ``(X, Y)``."""

    net: object  # relulib.TwoLayerNetwork
    X: np.ndarray
    Y: np.ndarray


@pytest.fixture
def planted():
    """Factory ``planted(d, k, m=1, *, n, bias_scale=0.0, noise=0.0, activation="relu", seed=0)``.

    The network is ``rl.random_network(d, k, m=m, bias_scale=..., activation=..., rng=seed)``
    and the samples ``rl.gaussian_samples(net, n, noise=noise, rng=seed + 1)``: two seeded
    draws, so that a test names its instance by one integer.
    """
    import relulib as rl

    def make(d, k, m=1, *, n, bias_scale=0.0, noise=0.0, activation="relu", seed=0):
        net = rl.random_network(d, k, m=m, bias_scale=bias_scale, activation=activation, rng=seed)
        X, Y = rl.gaussian_samples(net, n, noise=noise, rng=seed + 1)
        return Planted(net, X, Y)

    return make
