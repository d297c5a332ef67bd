"""relulib.reporting: the Markdown tables the chapters display."""

import numpy as np
import pytest

import relulib as rl


def test_table_has_header_rule_and_rows():
    table = rl.markdown_table(["d", "error"], [[10, "1.0e-15"], [20, "2.0e-15"]])
    assert table.splitlines() == [
        "| d | error |",
        "|---|---|",
        "| 10 | 1.0e-15 |",
        "| 20 | 2.0e-15 |",
    ]


def test_alignment_and_escaping():
    table = rl.markdown_table(["a", "b"], [["x|y", np.float64(0.5)]], align=["center", "right"])
    lines = table.splitlines()
    assert lines[1] == "|:---:|---:|"
    assert lines[2] == r"| x\|y | 0.5 |"


def test_no_rows_gives_header_only():
    assert rl.markdown_table(["only"], []).count("\n") == 1


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(header="ab", rows=[]), TypeError, "header"),
        (dict(header=[], rows=[]), ValueError, "header"),
        (dict(header=["a"], rows=None), TypeError, "rows"),
        (dict(header=["a", "b"], rows=[[1]]), ValueError, "row 0"),
        (dict(header=["a"], rows=["x"]), TypeError, "row 0"),
        (dict(header=["a"], rows=[[1]], align=["middle"]), ValueError, "align"),
        (dict(header=["a"], rows=[[1]], align=["left", "left"]), ValueError, "align"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, error, match):
    with pytest.raises(error, match=match):
        rl.markdown_table(**kwargs)
