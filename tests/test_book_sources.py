"""What a reader sees of the chapters' code: lines that fit the code box.

The book's CSS (book/_static/code-width.css) sizes code cells so that 88
columns fit the content column at 1280 px; the browser test checks the
rendered pages, this test checks the sources and stored text outputs without
a build, so a long line is caught by the quick suite.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
MAX_COLUMNS = 88


def long_lines(notebook):
    found = []
    for index, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        texts = [("source", "".join(cell["source"]))]
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain")
            if text:
                texts.append((output["output_type"], "".join(text)))
        for kind, text in texts:
            for line in text.splitlines():
                if len(line) > MAX_COLUMNS:
                    found.append(f"cell {index} {kind}: {len(line)} columns: {line[:60]}...")
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_code_and_printed_lines_fit_the_code_box(chapter):
    found = long_lines(chapter)
    assert not found, f"{chapter.name}: lines over {MAX_COLUMNS} columns:\n  " + "\n  ".join(found)


def test_the_check_sees_a_long_line(tmp_path):
    notebook = tmp_path / "x.ipynb"
    cell = {"cell_type": "code", "source": ["x = " + "1 + " * 30 + "1\n"], "outputs": [],
            "metadata": {}, "execution_count": 1}
    notebook.write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    assert long_lines(notebook) and "cell 0 source" in long_lines(notebook)[0]
