"""Shared fixtures."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_book_html():
    """Build the whole book once per session, as the README does, and return its HTML dir.

    ``jupyter-book build . -W -n --keep-going`` (with this interpreter) into ``_build/test_book`` (the book's own
    ``_build/html`` is left alone). A failing build fails every test that uses the fixture,
    with the end of the build log.
    """
    out = ROOT / "_build" / "test_book"
    cmd = [
        sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(ROOT),
        "-W", "-n", "--keep-going", "--path-output", str(out),
    ]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    html = out / "_build" / "html"
    if result.returncode != 0 or not (html / "index.html").is_file():
        log = (result.stdout + result.stderr)[-6000:]
        pytest.fail(f"book build failed (exit {result.returncode}):\n{log}", pytrace=False)
    return html
