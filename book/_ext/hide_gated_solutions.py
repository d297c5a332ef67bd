"""Sphinx extension of the student edition: ``hide_solutions`` also removes gated solutions.

sphinx-exercise (1.2.1) hides every ``{solution}`` block when ``hide_solutions`` is
true, but not a *gated* solution, ``{solution-start}`` ... ``{solution-end}``, the form
that can enclose code cells: its start directive is suppressed, the end marker stays
behind, and the build fails with "departing unknown node type: solution_end_node"
(executablebooks/sphinx-exercise#89); the enclosed cells would stay visible anyway.

With this extension loaded and ``hide_solutions`` true, ``{solution-start}`` leaves a
marker, and a transform that runs before sphinx-exercise merges gated solutions removes
the marker, everything after it up to the matching ``{solution-end}``, and the end
marker: the enclosed text, code cells and their outputs are not in the page, not in the
search index and not in any other output.

It also deletes, at the end of the build, the copies of the source notebooks that myst-nb
writes next to the HTML folder (``jupyter_execute/**/*.ipynb``, which it uses for the
download buttons and ``_sources``): they hold every solution. Their images, already
copied into the HTML folder, stay. With ``hide_solutions`` false it does nothing.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node


class hidden_solution_start(nodes.Element):
    """Marks where a gated solution begins in an edition that hides solutions."""


class HidingSolutionStartDirective(SolutionStartDirective):
    def run(self):
        result = super().run()  # keeps sphinx-exercise's gated-structure checks
        if self.env.app.config.hide_solutions:
            return [hidden_solution_start()]
        return result


class RemoveGatedSolutions(SphinxTransform):
    """Remove each gated solution (marker, content, end marker) from the doctree."""

    default_priority = 9  # before sphinx-exercise's MergeGatedSolutions (10)

    def apply(self):
        if not self.config.hide_solutions:
            return
        for start in list(self.document.findall(hidden_solution_start)):
            parent = start.parent
            siblings = parent.children
            first = siblings.index(start)
            last = next(
                (i for i in range(first + 1, len(siblings))
                 if isinstance(siblings[i], solution_end_node)),
                None,
            )
            if last is None:
                raise ValueError(
                    f"{self.env.docname}: a gated solution has no {{solution-end}} "
                    "at the same level as its {solution-start}"
                )
            for child in siblings[first:last + 1]:
                parent.remove(child)


def remove_notebook_copies(app, exception):
    """Delete myst-nb's full copies of the notebooks (they hold the solutions)."""
    if exception is not None or not app.config.hide_solutions:
        return
    config = getattr(app.env, "mystnb_config", None)
    folder = Path(config.output_folder) if config is not None else (
        Path(app.outdir).parent / "jupyter_execute")
    for copy in folder.rglob("*.ipynb"):
        copy.unlink()


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_node(hidden_solution_start)
    app.add_directive("solution-start", HidingSolutionStartDirective, override=True)
    app.add_transform(RemoveGatedSolutions)
    app.connect("build-finished", remove_notebook_copies)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
