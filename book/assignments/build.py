"""Build the course assignments: a student edition and an autograder edition.

Usage, from the repository root::

    python3 book/assignments/build.py                 # all assignments, into _build/assignments/
    python3 book/assignments/build.py --out DIR       # somewhere else
    python3 book/assignments/build.py a2_root_separation   # only some assignments
    python3 book/assignments/build.py --no-run-tests  # skip grading the solutions (faster)

Every ``book/assignments/*.ipynb`` is an otter-grader (7.x) notebook in format v1
(raw cell ``# ASSIGNMENT CONFIG``, ``# BEGIN QUESTION``, ``# BEGIN SOLUTION``,
``# BEGIN TESTS`` with public and ``# HIDDEN`` tests). For each one this runs
``otter assign`` and arranges its output as::

    DIR/student/<name>/<name>.ipynb         hand this out: no solutions, no hidden tests
    DIR/autograder/<name>/<name>.ipynb      the solutions key (all tests in its metadata)
    DIR/autograder/<name>/autograder.zip    for grading: otter run -a autograder.zip submission.ipynb

Unless ``--no-run-tests`` is given, ``otter assign`` grades the solutions key
against every public and hidden test (locally, without Docker) and the build
fails if any test fails. ``DIR`` defaults to ``_build/assignments`` (git-ignored).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
REPO_ROOT = SOURCE_DIR.parents[1]
DEFAULT_OUT = REPO_ROOT / "_build" / "assignments"


def assignment_sources(names=None):
    """The assignment notebooks ``book/assignments/*.ipynb``, sorted, or the ones named."""
    sources = sorted(SOURCE_DIR.glob("*.ipynb"))
    if names:
        by_name = {path.stem: path for path in sources}
        unknown = sorted(set(names) - set(by_name))
        if unknown:
            raise SystemExit(f"unknown assignment(s) {unknown}; available: {sorted(by_name)}")
        sources = [by_name[name] for name in names]
    return sources


def build_one(source: Path, out: Path, run_tests: bool = True) -> Path:
    """Run ``otter assign`` on one source; return the assignment's autograder folder."""
    name = source.stem
    with tempfile.TemporaryDirectory(prefix=f"otter-{name}-") as tmp:
        result = Path(tmp) / "dist"
        command = [sys.executable, "-m", "otter", "assign", str(source), str(result)]
        if not run_tests:
            command.append("--no-run-tests")
        completed = subprocess.run(command, capture_output=True, text=True, cwd=SOURCE_DIR)
        if completed.returncode != 0:
            raise RuntimeError(
                f"otter assign failed for {name} (exit {completed.returncode}):\n"
                f"{completed.stdout}\n{completed.stderr}"
            )
        student, autograder = out / "student" / name, out / "autograder" / name
        for target in (student, autograder):
            if target.exists():
                shutil.rmtree(target)
        shutil.copytree(result / "student", student)
        shutil.copytree(result / "autograder", autograder)
    # otter names the zip after a timestamp; give it a stable name.
    zips = sorted(autograder.glob("*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"expected one autograder zip for {name}, found {[z.name for z in zips]}")
    zips[0].rename(autograder / "autograder.zip")
    return autograder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="do not grade the solutions against the tests")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    for source in assignment_sources(args.names):
        print(f"== {source.stem}", flush=True)
        build_one(source, out, run_tests=not args.no_run_tests)
    print(f"student editions:    {out / 'student'}")
    print(f"autograder editions: {out / 'autograder'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
