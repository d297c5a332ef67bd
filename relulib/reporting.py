"""Results as tables: the one place the chapters format a Markdown table.

The book shows results as tables, not as fixed-width prints. A chapter builds
its rows from what it computed and displays

>>> from IPython.display import Markdown, display      # doctest: +SKIP
>>> display(Markdown(markdown_table(header, rows)))    # doctest: +SKIP

which Jupyter and the built book both render as a table (the book sets
``nb_render_markdown_format: myst``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._validation import InputTypeError, describe

__all__ = ["markdown_table"]

_ALIGN = {"left": ":---", "right": "---:", "center": ":---:", None: "---"}


def _cell(value: object) -> str:
    # A "|" inside a cell would end it; a newline would end the row.
    return str(value).replace("|", r"\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], *,
                   align: Sequence[str | None] | None = None) -> str:
    """A Markdown (pipe) table with one row per entry of ``rows``.

    Parameters
    ----------
    header : sequence of str
        Column titles (Markdown and inline math allowed).
    rows : sequence of sequences
        One sequence of cells per row, as many cells as ``header``; each cell
        is shown with ``str`` (format numbers before passing them, e.g.
        ``f"{err:.1e}"``). A ``|`` in a cell is escaped.
    align : sequence of {"left", "right", "center", None}, optional
        Alignment of each column; default the renderer's (left).

    Returns
    -------
    str
        The table's Markdown source, one line per row.

    Raises
    ------
    TypeError
        If ``header`` or a row is not a sequence (a string is not accepted as one).
    ValueError
        If ``header`` is empty, a row has a different number of cells, or an
        alignment is unknown.

    Examples
    --------
    >>> print(markdown_table(["n", "error"], [[1000, "3.1e-02"], [4000, "1.6e-02"]],
    ...                      align=["right", "right"]))
    | n | error |
    |---:|---:|
    | 1000 | 3.1e-02 |
    | 4000 | 1.6e-02 |
    """
    if isinstance(header, (str, bytes)) or not isinstance(header, Sequence):
        raise InputTypeError(f"header: expected a sequence of column titles, got {describe(header)}")
    if len(header) == 0:
        raise ValueError("header: expected at least one column, got an empty sequence")
    width = len(header)
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise InputTypeError(f"rows: expected a sequence of rows, got {describe(rows)}")
    if align is None:
        align = [None] * width
    elif isinstance(align, (str, bytes)) or len(align) != width:
        raise ValueError(f"align: expected {width} alignments (one per column), got {align!r}")
    for a in align:
        if a not in _ALIGN:
            raise ValueError(f"align: expected 'left', 'right', 'center' or None, got {a!r}")
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |",
             "|" + "|".join(_ALIGN[a] for a in align) + "|"]
    for i, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise InputTypeError(f"rows: expected row {i} to be a sequence of cells, got {describe(row)}")
        if len(row) != width:
            raise ValueError(f"rows: expected {width} cells in row {i} (as in header), got {len(row)}")
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines)
