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

    DIR/student/<name>/<name>.ipynb         hand this folder out: no solutions, no hidden tests,
    DIR/student/<name>/requirements.txt     with what the student installs (``pip install -r
    DIR/student/<name>/relulib-*.whl        requirements.txt`` in the folder: otter, the stack, relulib)
    DIR/autograder/<name>/<name>.ipynb      the solutions key (all tests in its metadata)
    DIR/autograder/<name>/autograder.zip    for grading: otter run -a autograder.zip submission.ipynb

Every assignment gets the same grading environment and submission cell, set here
(not in the notebooks) so that new assignments get them too:

* an export cell: the student runs it to make the zip that is submitted and graded
  (``grader.export``; no PDF, so no LaTeX is needed);
* ``autograder.zip`` installs exactly what grading needs: otter-grader (added by otter),
  the book's numerical stack pinned as in the top-level ``requirements.txt``
  (``GRADING_STACK``) and relulib, as a wheel built from this repository and shipped
  inside the zip (``files/relulib-*.whl``); the zip's ``environment.yml`` lists them as
  pip requirements, which conda/mamba install from the unzipped folder (Gradescope's
  ``setup.sh``); its Python is the one that ran this build.

Unless ``--no-run-tests`` is given, ``otter assign`` grades the solutions key
against every public and hidden test (locally, without Docker) and the build
fails if any test fails. ``DIR`` defaults to ``_build/assignments`` (git-ignored).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent
REPO_ROOT = SOURCE_DIR.parents[1]
DEFAULT_OUT = REPO_ROOT / "_build" / "assignments"

# What the graders import besides otter and relulib; versions pinned in requirements.txt.
GRADING_STACK = ("numpy", "scipy", "sympy", "matplotlib")
# What a student installs to work on an assignment: otter, a kernel, the same stack.
STUDENT_PACKAGES = ("otter-grader", "ipykernel", *GRADING_STACK)

# The export cell every student edition gets (otter 7 ASSIGNMENT CONFIG ``export_cell``).
EXPORT_CELL = {
    "pdf": False,
    "instructions": "Submit the zip file it writes next to this notebook.",
}


def pinned_requirements(names=GRADING_STACK, requirements=REPO_ROOT / "requirements.txt"):
    """The lines ``name==version`` of the top-level requirements.txt for ``names``."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s#;]+)", line)
        if match:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(2)}"
    missing = [name for name in names if name not in pins]
    if missing:
        raise RuntimeError(f"{requirements} pins no version (name==x.y.z) of {missing}")
    return [pins[name] for name in names]


def build_relulib_wheel(out_dir: Path) -> Path:
    """Build a wheel of this repository's relulib into ``out_dir``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--wheel-dir", str(out_dir), str(REPO_ROOT)],
        capture_output=True, text=True,
    )
    wheels = sorted(out_dir.glob("relulib-*.whl"))
    if completed.returncode != 0 or len(wheels) != 1:
        raise RuntimeError(f"building the relulib wheel failed:\n{completed.stdout}\n{completed.stderr}")
    return wheels[0]


def configured_source(source: Path, workdir: Path, wheel: Path) -> Path:
    """Copy ``source`` into ``workdir`` with the settings every assignment shares.

    The ASSIGNMENT CONFIG gets the export cell, the grading requirements (written to
    ``workdir/requirements.txt``: the pinned stack and the relulib wheel, which is copied
    into ``workdir`` and listed in ``autograder_files``, so it lands in the zip's
    ``files/`` folder and in no student edition) and the Python version.
    """
    import nbformat
    import yaml

    shutil.copy(wheel, workdir / wheel.name)
    (workdir / "requirements.txt").write_text(  # otter-grader itself is added by otter
        "\n".join([*pinned_requirements(), f"./files/{wheel.name}"]) + "\n")
    nb = nbformat.read(source, as_version=4)
    cell = nb.cells[0]
    header = "# ASSIGNMENT CONFIG"
    if cell.cell_type != "raw" or not cell.source.startswith(header):
        raise ValueError(f"{source.name}: the first cell must be the raw '{header}' cell")
    config = yaml.safe_load(cell.source[len(header):]) or {}
    config["export_cell"] = dict(EXPORT_CELL)
    config["requirements"] = "requirements.txt"
    config["autograder_files"] = [*config.get("autograder_files", []), wheel.name]
    config["python_version"] = f"{sys.version_info.major}.{sys.version_info.minor}"
    cell.source = header + "\n" + yaml.safe_dump(config, sort_keys=False)
    target = workdir / source.name
    nbformat.write(nb, target)
    return target


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


def build_one(source: Path, out: Path, run_tests: bool = True, wheel: Path | None = None) -> Path:
    """Run ``otter assign`` on one source; return the assignment's autograder folder.

    ``wheel`` is the relulib wheel to ship in the zip (built here when not given).
    """
    name = source.stem
    with tempfile.TemporaryDirectory(prefix=f"otter-{name}-") as tmp:
        if wheel is None:
            wheel = build_relulib_wheel(Path(tmp) / "wheel")
        workdir = Path(tmp) / "source"
        workdir.mkdir()
        configured = configured_source(source, workdir, wheel)
        result = Path(tmp) / "dist"
        command = [sys.executable, "-m", "otter", "assign", str(configured), str(result)]
        if not run_tests:
            command.append("--no-run-tests")
        completed = subprocess.run(command, capture_output=True, text=True, cwd=workdir)
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
        # What a student installs to work on the notebook and run its export cell.
        shutil.copy(wheel, student / wheel.name)
        (student / "requirements.txt").write_text(
            "\n".join([*pinned_requirements(STUDENT_PACKAGES), f"./{wheel.name}"]) + "\n")
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
    with tempfile.TemporaryDirectory(prefix="relulib-wheel-") as tmp:
        wheel = build_relulib_wheel(Path(tmp))
        for source in assignment_sources(args.names):
            print(f"== {source.stem}", flush=True)
            build_one(source, out, run_tests=not args.no_run_tests, wheel=wheel)
    print(f"student editions:    {out / 'student'}")
    print(f"autograder editions: {out / 'autograder'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
