"""The course assignments (book/assignments/*.ipynb, otter-grader format v1).

Builds every assignment with ``book/assignments/build.py`` into a temporary
folder, then grades, locally and without Docker (``otter run``, as instructors do):

* the solutions key, which must pass every public and every hidden test;
* the student edition as handed out (empty answers), which must fail at least
  one test of every question;
* the student edition with plausible wrong answers filled in, which must fail
  at least one test of every question;

and searches the student editions for the distinctive lines of the solutions
and of the hidden tests, which must not be there.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
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


def _grade(notebook: Path, zip_path: Path, out: Path):
    """Grade one notebook with ``otter run`` (local, no Docker): {question: (score, max_score)}.

    A question's score is its maximum exactly when every one of its test cases
    (public and hidden) passes.
    """
    out.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(out), str(notebook)],
        capture_output=True, text=True,
    )
    results = out / "results.json"
    if completed.returncode != 0 or not results.exists():
        raise RuntimeError(f"otter run failed on {notebook}:\n{completed.stdout}\n{completed.stderr}")
    tests = json.loads(results.read_text())["tests"]
    return {t["name"]: (t["score"], t["max_score"]) for t in tests if t["name"] != "Public Tests"}


def _with_wrong_answers(student: Path, name: str, target: Path) -> Path:
    """The student edition with the plausible wrong answers of WRONG_ANSWERS filled in."""
    nb = nbformat.read(student, as_version=4)
    answer_cells = [cell for cell in nb.cells if "otter_answer_cell" in cell.metadata.get("tags", [])]
    questions = _questions(name)
    assert len(answer_cells) == len(questions), name
    for cell, question in zip(answer_cells, questions):
        cell.source = WRONG_ANSWERS[name][question]
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target / student.name)
    return target / student.name


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """All assignments built (without otter's own run of the tests) into a temporary folder."""
    out = tmp_path_factory.mktemp("assignments")
    build = _load_build_module()
    with ThreadPoolExecutor(max_workers=4) as pool:  # each job is an `otter assign` subprocess
        list(pool.map(lambda source: build.build_one(source, out, run_tests=False),
                      build.assignment_sources()))
    return out


@pytest.fixture(scope="module")
def grades(built, tmp_path_factory):
    """{(name, edition): {question: (score, max_score)}} for the solutions key ("key"), the
    student edition as handed out ("empty") and the student edition with wrong answers ("wrong")."""
    work = tmp_path_factory.mktemp("grading")
    jobs = {}
    for name in NAMES:
        student, key, zip_path = _paths(built, name)
        wrong = _with_wrong_answers(student, name, work / "wrong" / name)
        for edition, notebook in (("key", key), ("empty", student), ("wrong", wrong)):
            jobs[name, edition] = (notebook, zip_path, work / "results" / edition / name)
    with ThreadPoolExecutor(max_workers=4) as pool:  # each job is an `otter run` subprocess
        futures = {job: pool.submit(_grade, *args) for job, args in jobs.items()}
        return {job: future.result() for job, future in futures.items()}


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
    student, _, _ = _paths(built, name)
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
    student, _, _ = _paths(built, name)
    config = json.loads((built / "autograder" / name / "otter_config.json").read_text())
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
def test_solutions_pass_every_public_and_hidden_test(grades, name):
    graded = grades[name, "key"]
    assert sorted(graded) == sorted(_questions(name))
    for question, (score, max_score) in graded.items():
        assert max_score > 0 and score == max_score, f"{name} {question}: {score}/{max_score}"


@pytest.mark.slow  # builds and grades every assignment (once per module)
@pytest.mark.parametrize("edition", ["empty", "wrong"])
@pytest.mark.parametrize("name", NAMES)
def test_empty_or_wrong_answers_fail_every_question(grades, name, edition):
    graded = grades[name, edition]
    assert sorted(graded) == sorted(_questions(name))
    for question, (score, max_score) in graded.items():
        assert score < max_score, f"{name} {question}: the {edition} answer gets {score}/{max_score}"


def test_student_book_config_only_hides_solutions():
    """_config_student.yml is _config.yml plus sphinx-exercise's hide_solutions, nothing else."""
    yaml = pytest.importorskip("yaml")
    book = yaml.safe_load((ROOT / "_config.yml").read_text())
    student = yaml.safe_load((ROOT / "_config_student.yml").read_text())
    assert student["sphinx"]["config"].pop("hide_solutions") is True
    assert "hide_solutions" not in book["sphinx"]["config"]
    assert student == book
