"""Make sphinx-exercise's ``hide_solutions`` remove *gated* solutions as well.

A gated solution (``{solution-start}`` ... ``{solution-end}`` in Markdown cells
around code cells) is how a chapter puts an executed answer cell inside an
exercise's solution. sphinx-exercise 1.2.1 drops the ``{solution-start}`` when
``hide_solutions`` is set, keeps every cell up to ``{solution-end}``, and then
fails on the orphaned end node (upstream: executablebooks/sphinx-exercise#89).
With this extension, under ``hide_solutions`` the start directive leaves a marker,
and a transform removes the marker, everything after it up to the matching
``{solution-end}``, and that end node, before anything is written: no text, code
or output of a gated solution reaches the student edition's HTML or search index.
Without ``hide_solutions`` nothing changes.
"""

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx_exercise.directive import SolutionStartDirective
from sphinx_exercise.nodes import solution_end_node


class hidden_solution_start(nodes.Element):
    """Where a gated solution began; removed, with the solution, by the transform."""


class HidingSolutionStartDirective(SolutionStartDirective):
    def run(self):
        result = super().run()  # registers the gate; returns [] under hide_solutions
        if self.env.app.config.hide_solutions:
            return [hidden_solution_start()]
        return result


class RemoveHiddenGatedSolutions(SphinxTransform):
    default_priority = 9  # before sphinx-exercise's MergeGatedSolutions (10)

    def apply(self):
        for start in list(self.document.findall(hidden_solution_start)):
            parent = start.parent
            first = parent.index(start)
            last = next(
                (j for j in range(first + 1, len(parent)) if isinstance(parent[j], solution_end_node)),
                None,
            )
            if last is None:
                raise ValueError(
                    f"{self.env.docname}: a {{solution-start}} has no {{solution-end}} "
                    "at the same level of the page"
                )
            for child in parent.children[first:last + 1]:
                parent.remove(child)


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_node(hidden_solution_start)
    app.add_directive("solution-start", HidingSolutionStartDirective, override=True)
    app.add_transform(RemoveHiddenGatedSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
