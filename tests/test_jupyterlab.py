"""The README's and the preface's "jupyter lab book/" works after installing requirements.txt."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab")  # a book tool: absent from tools/test_floors.sh


def test_jupyter_lab_command_runs():
    jupyter = shutil.which("jupyter") or str(Path(sys.executable).with_name("jupyter"))
    result = subprocess.run(
        [jupyter, "lab", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    major = int(result.stdout.strip().split(".")[0])
    assert major >= 4, result.stdout


def test_jupyterlab_front_end_is_built():
    # The pip wheel ships the compiled web application; without it `jupyter lab` serves
    # an empty page even though the command exists.
    from jupyterlab.commands import get_app_dir

    index = Path(get_app_dir()) / "static" / "index.html"
    assert index.is_file(), f"JupyterLab's front end is missing: {index}"
