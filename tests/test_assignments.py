"""The course assignments (book/assignments/*.ipynb, otter-grader format v1).

Builds every assignment with ``book/assignments/build.py`` into a temporary
folder, then grades, locally and without Docker (``otter run``, as instructors do):

* the solutions key, which must pass every public and every hidden test;
* the student edition as handed out (empty answers), which must fail at least
  one test of every question (for the first assignment: see EMPTY_GRADED);
* the student edition with plausible wrong answers filled in, which must fail
  at least one test of every question;

and searches the student editions for the distinctive lines of the solutions
and of the hidden tests, which must not be there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # a book tool: absent from tools/test_floors.sh
from assignment_wrong_answers import WRONG_ANSWERS as _ALL_WRONG_ANSWERS

pytest.importorskip("otter")

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "book" / "assignments"
NAMES = sorted(path.stem for path in SOURCES.glob("*.ipynb"))


def _load_build_module():
    spec = importlib.util.spec_from_file_location("build_assignments", SOURCES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Plausible wrong answers: the first of each question's list in tests/assignment_wrong_answers.py
# (all of them are checked, without otter, by tests/test_assignment_wrong_answers.py), written into
# the student edition's answer cells (in question order).
WRONG_ANSWERS = {
    name: {question: answers[0][1] for question, answers in questions.items()}
    for name, questions in _ALL_WRONG_ANSWERS.items()
}


# Every grading starts a kernel (15-30 s on two cores), and they run one after another.
# The empty student edition (which no test can pass: its answers are ``...``) is graded
# for one assignment, as a check of the hand-out itself; every assignment's key and
# wrong answers are graded.
EMPTY_GRADED = NAMES[:1]


def _otter_run(otter: list[str], notebook: Path, zip_path: Path, out: Path, env=None):
    """Run ``otter run`` (local, no Docker) and return the path of its results.json.

    The gradings run one after another. A kernel that fails to bind its ports
    ("Address already in use": jupyter_client picks free ports before binding them, and
    another process on the machine may take one in between) is retried once; any other
    failure is reported with otter's output.
    """
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    for attempt in range(2):
        results.unlink(missing_ok=True)
        completed = subprocess.run(
            [*otter, "run", "-a", str(zip_path), "-o", str(out), str(notebook)],
            capture_output=True, text=True, env=env, timeout=900,
        )
        if completed.returncode == 0 and results.exists():
            return results
        if "Address already in use" not in completed.stdout + completed.stderr:
            break
    raise RuntimeError(f"otter run failed on {notebook}:\n{completed.stdout}\n{completed.stderr}")


def _scores(results: Path):
    """{question: (score, max_score)} of a results.json (without otter's "Public Tests" row).

    A question's score is its maximum exactly when every one of its test cases
    (public and hidden) passes.
    """
    tests = json.loads(results.read_text())["tests"]
    return {t["name"]: (t["score"], t["max_score"]) for t in tests if t["name"] != "Public Tests"}


def _grade(notebook: Path, zip_path: Path, out: Path):
    """Grade one notebook with this environment's ``otter run``: {question: (score, max_score)}."""
    return _scores(_otter_run([sys.executable, "-m", "otter"], notebook, zip_path, out))


def _with_answers(student: Path, answers, target: Path) -> Path:
    """The student edition with ``answers`` (one source per answer cell, in order) filled in."""
    nb = nbformat.read(student, as_version=4)
    answer_cells = [cell for cell in nb.cells if "otter_answer_cell" in cell.metadata.get("tags", [])]
    assert len(answer_cells) == len(answers), student
    for cell, answer in zip(answer_cells, answers):
        cell.source = answer
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target / student.name)
    return target / student.name


def _with_wrong_answers(student: Path, name: str, target: Path) -> Path:
    """The student edition with the plausible wrong answers of WRONG_ANSWERS filled in."""
    return _with_answers(student, [WRONG_ANSWERS[name][q] for q in _questions(name)], target)


def _with_key_answers(student: Path, key: Path, target: Path) -> Path:
    """The student edition with the solutions key's answers filled in (a correct submission)."""
    nb = nbformat.read(key, as_version=4)
    answers = [cell.source for cell in nb.cells
               if "otter_assign_solution_cell" in cell.metadata.get("tags", [])]
    return _with_answers(student, answers, target)


class _Outcomes(dict):
    """Per-item results of a fixture: a failure is re-raised by the test that needs that
    item only, so that one broken assignment or grading does not error every test."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        if isinstance(value, BaseException):
            pytest.fail(f"{key}: {value}", pytrace=False)
        return value


@pytest.fixture(scope="module")
def relulib_wheel(tmp_path_factory):
    return _load_build_module().build_relulib_wheel(tmp_path_factory.mktemp("wheel"))


@dataclass
class Built:
    """The build folder, and the error of each assignment whose build failed."""

    out: Path
    errors: dict

    def require(self, name):
        """Fail the calling test, and only it, if ``name`` did not build."""
        if name in self.errors:
            pytest.fail(f"building {name} failed: {self.errors[name]}", pytrace=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory, relulib_wheel):
    """All assignments built (without otter's own run of the tests) into a temporary folder,
    one after another, with one relulib wheel."""
    out = tmp_path_factory.mktemp("assignments")
    build = _load_build_module()
    errors = {}
    for source in build.assignment_sources():
        try:
            build.build_one(source, out, run_tests=False, wheel=relulib_wheel)
        except Exception as error:  # reported by the tests of this assignment only
            errors[source.stem] = error
    return Built(out, errors)


@pytest.fixture(scope="module")
def grades(built, tmp_path_factory):
    """{(name, edition): {question: (score, max_score)}} for the solutions key ("key"), the
    student edition as handed out ("empty") and the student edition with wrong answers ("wrong").

    The gradings run one after another (each starts a kernel; concurrent kernels on a
    loaded machine raced for ports); a failed grading fails only the tests that use it."""
    work = tmp_path_factory.mktemp("grading")
    results = _Outcomes()
    for name in NAMES:
        if name in built.errors:
            continue
        student, key, zip_path = _paths(built.out, name)
        for edition in ("key", "wrong") if name not in EMPTY_GRADED else ("key", "empty", "wrong"):
            try:
                notebook = {"key": key, "empty": student}.get(edition) or _with_wrong_answers(
                    student, name, work / "wrong" / name)
                results[name, edition] = _grade(notebook, zip_path, work / "results" / edition / name)
            except Exception as error:
                results[name, edition] = error
    return results


def _paths(out: Path, name: str):
    return (
        out / "student" / name / f"{name}.ipynb",
        out / "autograder" / name / f"{name}.ipynb",
        out / "autograder" / name / "autograder.zip",
    )


def _questions(name: str):
    """Question names of a source notebook, in order."""
    nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
    return [
        re.search(r"^name:\s*(\S+)", cell.source, re.M).group(1)
        for cell in nb.cells
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION")
    ]


def _solution_and_hidden_lines(name: str):
    """Distinctive lines of the solutions and of the hidden tests in a source notebook."""
    nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
    solution, hidden, elsewhere = set(), set(), []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped == "# BEGIN SOLUTION":
                inside = True
            elif stripped == "# END SOLUTION":
                inside = False
            elif inside:
                solution.add(stripped)
            elif stripped.endswith("# SOLUTION"):
                solution.add(stripped[: -len("# SOLUTION")].strip())
            elif cell.source.startswith("# HIDDEN"):
                hidden.add(stripped)
            else:
                elsewhere.append(stripped)
    shared = set(elsewhere)

    def distinctive(lines):
        return {line for line in lines if len(line) >= 20 and line not in shared}

    return distinctive(solution), distinctive(hidden - solution)


def _student_texts(path: Path):
    """Every piece of code or text a student receives: cell sources and test code."""
    nb = nbformat.read(path, as_version=4)
    texts = [cell.source for cell in nb.cells]
    for test in nb.metadata.get("otter", {}).get("tests", {}).values():
        for suite in test["suites"]:
            texts.extend(case["code"] for case in suite["cases"])
    return "\n".join(texts), nb


def test_at_least_four_assignments_with_public_and_hidden_tests():
    assert len(NAMES) >= 4, NAMES
    for name in NAMES:
        nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
        assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("# ASSIGNMENT CONFIG")
        sources = [cell.source for cell in nb.cells]
        assert any(s.startswith("# HIDDEN") for s in sources), name
        assert any("import relulib" in s for s in sources), name
        assert set(WRONG_ANSWERS[name]) == set(_questions(name)), name


@pytest.mark.slow  # builds every assignment (once per module)
@pytest.mark.parametrize("name", NAMES)
def test_student_edition_has_no_solutions_and_no_hidden_tests(built, name):
    built.require(name)
    student, _, _ = _paths(built.out, name)
    text, nb = _student_texts(student)
    solution_lines, hidden_lines = _solution_and_hidden_lines(name)
    assert len(solution_lines) >= 3 and len(hidden_lines) >= 3
    student_lines = {line.strip() for line in text.splitlines()}
    leaked = sorted(line for line in solution_lines | hidden_lines if line in student_lines)
    assert not leaked, f"{name}: the student edition contains {leaked}"
    raw = student.read_text()
    assert "BEGIN SOLUTION" not in raw and "# HIDDEN" not in raw
    for test in nb.metadata["otter"]["tests"].values():
        assert not any(case["hidden"] for suite in test["suites"] for case in suite["cases"])


@pytest.mark.slow  # builds every assignment (once per module)
@pytest.mark.parametrize("name", NAMES)
def test_student_and_autograder_seeds_differ(built, name):
    built.require(name)
    student, _, _ = _paths(built.out, name)
    config = json.loads((built.out / "autograder" / name / "otter_config.json").read_text())
    assert config["seed_variable"] == "SEED"
    text, _ = _student_texts(student)
    student_seeds = re.findall(r"^SEED = (\d+)", text, re.M)
    assert len(student_seeds) == 1 and int(student_seeds[0]) != config["seed"], student_seeds


@pytest.mark.parametrize("name", NAMES)
def test_every_question_has_public_and_hidden_tests(name):
    nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
    kinds, question, in_tests = {}, None, False
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            question = re.search(r"^name:\s*(\S+)", cell.source, re.M).group(1)
        elif cell.cell_type == "raw" and cell.source.strip() in ("# BEGIN TESTS", "# END TESTS"):
            in_tests = cell.source.strip() == "# BEGIN TESTS"
        elif in_tests and cell.cell_type == "code":
            kinds.setdefault(question, set()).add(cell.source.startswith("# HIDDEN"))
    assert kinds == {q: {False, True} for q in _questions(name)}, kinds


@pytest.mark.slow  # builds and grades every assignment (once per module)
@pytest.mark.parametrize("name", NAMES)
def test_solutions_pass_every_public_and_hidden_test(built, grades, name):
    built.require(name)
    graded = grades[name, "key"]
    assert sorted(graded) == sorted(_questions(name))
    for question, (score, max_score) in graded.items():
        assert max_score > 0 and score == max_score, f"{name} {question}: {score}/{max_score}"


@pytest.mark.slow  # builds and grades every assignment (once per module)
@pytest.mark.parametrize(("name", "edition"),
                         [(name, "wrong") for name in NAMES] + [(name, "empty") for name in EMPTY_GRADED])
def test_empty_or_wrong_answers_fail_every_question(built, grades, name, edition):
    built.require(name)
    graded = grades[name, edition]
    assert sorted(graded) == sorted(_questions(name))
    for question, (score, max_score) in graded.items():
        assert score < max_score, f"{name} {question}: the {edition} answer gets {score}/{max_score}"


def _zip_environment(zip_path: Path):
    """(python version, pip requirements) of an autograder zip's environment.yml."""
    yaml = pytest.importorskip("yaml")
    with zipfile.ZipFile(zip_path) as zf:
        environment = yaml.safe_load(zf.read("environment.yml"))
    dependencies = environment["dependencies"]
    python = next(d for d in dependencies if isinstance(d, str) and d.startswith("python="))
    conda = [d for d in dependencies if isinstance(d, str) and not d.startswith("python=")]
    pip = next(d["pip"] for d in dependencies if isinstance(d, dict))
    return python.split("=", 1)[1], conda, pip


@pytest.mark.parametrize("name", NAMES)
def test_autograder_zip_installs_relulib_and_the_pinned_stack(built, name):
    """The zip's environment pins the stack as requirements.txt does and installs the
    relulib wheel it ships; the assignment imports nothing else (besides the standard
    library and otter)."""
    built.require(name)
    build = _load_build_module()
    _, _, zip_path = _paths(built.out, name)
    _, _, pip = _zip_environment(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        wheels = [n for n in zf.namelist() if re.fullmatch(r"files/relulib-[^/]+\.whl", n)]
        assert len(wheels) == 1, zf.namelist()
        with zipfile.ZipFile(zf.open(wheels[0])) as wheel:
            assert "relulib/__init__.py" in wheel.namelist()
    top_level = (ROOT / "requirements.txt").read_text()
    for package in build.GRADING_STACK:
        pin = re.search(rf"^{package}==\S+", top_level, re.M).group(0)
        assert pin in pip, (pin, pip)
    assert f"./{wheels[0]}" in pip and any(p.startswith("otter-grader") for p in pip), pip
    nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
    imported = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            imported |= set(re.findall(r"^\s*(?:import|from)\s+(\w+)", cell.source, re.M))
    allowed = {"otter", "relulib", *build.GRADING_STACK} | set(sys.stdlib_module_names)
    assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}, not in the zip"


@pytest.mark.parametrize("name", NAMES)
def test_student_edition_has_an_export_cell_and_its_requirements(built, name):
    built.require(name)
    student, _, _ = _paths(built.out, name)
    nb = nbformat.read(student, as_version=4)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    assert any(re.search(r"^grader\.export\(", source, re.M) for source in code), name
    # The folder handed out says what to install, and holds the relulib wheel it names.
    requirements = (student.parent / "requirements.txt").read_text().split()
    wheels = [r for r in requirements if r.endswith(".whl")]
    assert len(wheels) == 1 and (student.parent / wheels[0]).is_file(), requirements
    assert {r.split("==")[0] for r in requirements if "==" in r} == set(
        _load_build_module().STUDENT_PACKAGES), requirements


# One assignment (it uses sympy, so the zip's whole stack is exercised) is graded in a
# fresh virtual environment; any assignment would do.
VENV_ASSIGNMENT = "a1_hermite_lemma35" if "a1_hermite_lemma35" in NAMES else NAMES[0]


def _clean_env(**extra):
    """An environment that hides this machine's Python setup from a fresh venv: no
    PYTHONPATH (which points at this repository), no user site-packages, and a fresh HOME,
    so that no user-level Jupyter kernelspec overrides the venv's own kernel."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "JUPYTER_PATH", "JUPYTER_DATA_DIR",
                        "JUPYTER_CONFIG_DIR", "VIRTUAL_ENV")}
    env.update(PYTHONNOUSERSITE="1", **extra)
    return env


@pytest.fixture(scope="module")
def zip_venv(built, tmp_path_factory):
    """A brand-new venv with what the assignment's autograder.zip installs, and nothing else.

    Mimics the zip's setup.sh: its environment.yml is created with conda/mamba, which
    installs the ``pip:`` requirements from the unzipped folder (so ``./files/*.whl``
    resolves there). Here: ``python -m venv`` with this interpreter (the Python version
    the zip asks for, checked), the conda packages other than Python that are on PyPI
    too (pip, jupyter_server), then ``pip install`` of the zip's pip requirements alone.
    """
    built.require(VENV_ASSIGNMENT)
    _, _, zip_path = _paths(built.out, VENV_ASSIGNMENT)
    python, conda, pip = _zip_environment(zip_path)
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", python
    work = tmp_path_factory.mktemp("venv")
    home, source, venv = work / "home", work / "source", work / "venv"
    home.mkdir()
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(source)
    env = _clean_env(HOME=str(home))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    bin_dir = venv / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"  # as `mamba activate otter-env`
    assert set(conda) == {"pip", "jupyter_server"}, conda
    completed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", *conda, *pip],
        cwd=source, env=env, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    probe = subprocess.run(
        [str(bin_dir / "python"), "-c", "import relulib, sympy; print(relulib.__file__)"],
        cwd=home, env=env, capture_output=True, text=True, check=True,
    )
    assert Path(probe.stdout.strip()).resolve().is_relative_to(venv.resolve()), probe.stdout
    return bin_dir, env


@pytest.mark.slow
def test_exported_submission_graded_in_a_venv_built_from_the_zip_alone(built, zip_venv, tmp_path):
    """The whole loop: a student fills in correct answers and runs the export cell of the
    student edition; the exported zip, graded by otter in a venv made from the autograder
    zip alone, gets the full score. A wrong submission graded there does not."""
    name = VENV_ASSIGNMENT
    student, key, zip_path = _paths(built.out, name)
    bin_dir, venv_env = zip_venv
    # The student's side (this environment, where relulib is installed): fill in, run all.
    filled = _with_key_answers(student, key, tmp_path / "student")
    completed = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=600", "--output", "executed.ipynb", filled.name],
        cwd=filled.parent, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    exported = sorted(filled.parent.glob(f"{name}_*.zip"))
    assert len(exported) == 1, sorted(p.name for p in filled.parent.iterdir())
    with zipfile.ZipFile(exported[0]) as zf:
        assert f"{name}.ipynb" in zf.namelist(), zf.namelist()
    # The instructor's side: otter from the fresh venv.
    otter = [str(bin_dir / "otter")]
    right = _scores(_otter_run(otter, exported[0], zip_path, tmp_path / "right", env=venv_env))
    assert sorted(right) == sorted(_questions(name))
    assert all(max_score > 0 and score == max_score for score, max_score in right.values()), right
    wrong_nb = _with_wrong_answers(student, name, tmp_path / "wrong")
    wrong = _scores(_otter_run(otter, wrong_nb, zip_path, tmp_path / "wrong_results", env=venv_env))
    assert sorted(wrong) == sorted(_questions(name))
    assert all(score < max_score for score, max_score in wrong.values()), wrong
