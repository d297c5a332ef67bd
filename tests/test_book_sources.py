"""What a reader sees of the chapters' code: lines that fit the code box.

The book's CSS (book/_static/code-width.css) sizes code cells so that 88
columns fit the content column at 1280 px; the source of a cell tagged
``hide-input`` sits in a dropdown whose box is a few pixels narrower, where 87
fit. The browser test checks the rendered pages, this test checks the sources
and stored text outputs without a build, so a long line is caught by the quick
suite.
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
MAX_COLUMNS = 88
MAX_COLUMNS_IN_DROPDOWN = 87  # the source of a hide-input cell (measured: 88 columns scroll by 2 px)


def long_lines(notebook):
    found = []
    for index, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] != "code":
            continue
        hidden = "hide-input" in cell.get("metadata", {}).get("tags", [])
        texts = [("source", "".join(cell["source"]))]
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain")
            if text:
                texts.append((output["output_type"], "".join(text)))
        for kind, text in texts:
            limit = MAX_COLUMNS_IN_DROPDOWN if hidden and kind == "source" else MAX_COLUMNS
            for line in text.splitlines():
                if len(line) > limit:
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


def test_the_check_sees_an_88_column_line_in_a_dropdown(tmp_path):
    notebook = tmp_path / "x.ipynb"
    line = "x = 1" + " " * 70 + "# " + "a" * 11  # 88 columns: fits a visible cell only
    assert len(line) == 88
    cell = {"cell_type": "code", "source": [line + "\n"], "outputs": [],
            "metadata": {}, "execution_count": 1}
    notebook.write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    assert not long_lines(notebook)
    cell["metadata"]["tags"] = ["hide-input"]
    notebook.write_text(json.dumps({"cells": [cell]}), encoding="utf-8")
    assert long_lines(notebook) and "88 columns" in long_lines(notebook)[0]
