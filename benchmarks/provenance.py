"""Where a benchmark figure comes from: the commit, the machine, the time (one home for it).

The scripts of this folder run as ``python3 benchmarks/<script>.py``, so this module is
importable as ``provenance`` from them.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commit() -> str:
    """The repository's HEAD (short hash; ``+`` appended if the library or the benchmark
    scripts have uncommitted changes), or ``"unknown"`` outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                "relulib", "benchmarks/*.py"], cwd=ROOT,
                               text=True, capture_output=True, check=True).stdout.strip()
        return head + ("+" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def now() -> str:
    """The current time, ``YYYY-MM-DD HH:MM UTC``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``/proc/loadavg`` gives them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
