"""Plausible wrong answers fail, the solutions pass: every question of every assignment.

For each assignment ``book/assignments/<name>.ipynb`` (otter-grader format v1) this runs the
notebook's own code in one namespace, as the autograder would with its value of ``SEED``: the
setup cells, the solution of every question, then every test case of every question (public and
hidden), each in a copy of the namespace. The solutions must pass every case, with the student's
and with the autograder's seed. Then, for every entry of ``WRONG_ANSWERS``, the wrong answer is
executed in place of its question's solution and that question's test cases are run again: at
least one must fail. No ``otter run`` is needed, so the hundred-odd wrong answers take about two
minutes on a loaded two-core machine; ``tests/test_assignments.py`` grades the solutions keys (and
the first wrong answer of every question) with otter itself.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # a book tool: absent from tools/test_floors.sh
yaml = pytest.importorskip("yaml")  # a book tool: absent from tools/test_floors.sh

from assignment_wrong_answers import WRONG_ANSWERS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "book" / "assignments"
NAMES = sorted(path.stem for path in SOURCES.glob("*.ipynb"))
SEED_LINE = re.compile(r"^SEED = \d+", re.M)


def parse(name):
    """(config, steps, tests) of a source notebook.

    ``steps`` is the list of code cells outside the test blocks, in order, as
    ``(question or None, is_answer, source)``; ``tests`` maps each question to its
    test cases ``(hidden, source)``.
    """
    nb = nbformat.read(SOURCES / f"{name}.ipynb", as_version=4)
    config = yaml.safe_load(nb.cells[0].source.split("\n", 1)[1])
    steps, tests = [], {}
    question, in_solution, in_tests = None, False, False
    for cell in nb.cells[1:]:
        source = cell.source.strip()
        if cell.cell_type == "raw":
            if source.startswith("# BEGIN QUESTION"):
                question = re.search(r"^name:\s*(\S+)", source, re.M).group(1)
                tests[question] = []
            elif source == "# END QUESTION":
                question = None
            elif source in ("# BEGIN SOLUTION", "# END SOLUTION"):
                in_solution = source == "# BEGIN SOLUTION"
            elif source in ("# BEGIN TESTS", "# END TESTS"):
                in_tests = source == "# BEGIN TESTS"
        elif cell.cell_type == "code":
            if in_tests:
                tests[question].append((source.startswith("# HIDDEN"), source))
            else:
                steps.append((question, in_solution, source))
    return config, steps, tests


def run_notebook(steps, seed):
    """The namespace after running every code cell (solutions included) with ``SEED = seed``."""
    namespace = {"__name__": "__main__"}
    for _, _, source in steps:
        exec(compile(SEED_LINE.sub(f"SEED = {seed}", source), "<cell>", "exec"), namespace)
    return namespace


def failures(namespace, cases, first_only=False):
    """The test cases (index, hidden, error) that fail in a copy of ``namespace``
    (only the first one if ``first_only``)."""
    failed = []
    for index, (hidden, source) in enumerate(cases):
        try:
            exec(compile(source, "<test>", "exec"), dict(namespace))
        except Exception as error:  # noqa: BLE001 - any exception fails an otter test case
            failed.append((index, hidden, f"{type(error).__name__}: {error}"[:200]))
            if first_only:
                break
    return failed


def test_every_question_has_wrong_answers():
    """Every question of every assignment lists at least one wrong answer, and nothing else."""
    assert len(NAMES) >= 9, NAMES
    for name in NAMES:
        _, _, tests = parse(name)
        assert set(WRONG_ANSWERS[name]) == set(tests), name
        for question, answers in WRONG_ANSWERS[name].items():
            assert answers, (name, question)
            labels = [label for label, _ in answers]
            assert len(labels) == len(set(labels)), (name, question, labels)


@pytest.mark.slow  # runs each assignment notebook once per wrong answer
@pytest.mark.parametrize("name", NAMES)
def test_solutions_pass_and_wrong_answers_fail(name):
    config, steps, tests = parse(name)
    seeds = config["seed"]
    for seed in (seeds["student_value"], seeds["autograder_value"]):
        namespace = run_notebook(steps, seed)
        for question, cases in tests.items():
            failed = failures(namespace, cases)
            assert not failed, f"{name} {question}, SEED = {seed}: the solution fails {failed}"
    # The wrong answers are graded as the autograder grades: with its seed (the last namespace).
    passing, broken = [], []
    for question, answers in WRONG_ANSWERS[name].items():
        for label, wrong in answers:
            trial = dict(namespace)
            try:
                exec(compile(wrong, f"<wrong answer {question}: {label}>", "exec"), trial)
            except Exception as error:  # noqa: BLE001 - an answer cell that fails to run
                raise AssertionError(f"{name} {question} {label!r}: the wrong answer does not "
                                     f"even run ({error}); make it a plausible answer") from error
            with warnings.catch_warnings():  # wrong answers may divide by zero and the like
                warnings.simplefilter("ignore")
                failed = failures(trial, tests[question], first_only=True)
            if not failed:
                passing.append(f"{question}: {label}")
            elif failed[0][2].startswith(("NameError", "SyntaxError", "ImportError")):
                broken.append(f"{question}: {label}: {failed[0][2]}")  # a typo, not a wrong idea
    assert not passing, f"{name}: wrong answers that pass every test: {passing}"
    assert not broken, f"{name}: wrong answers that fail for a trivial reason: {broken}"
