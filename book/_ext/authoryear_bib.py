"""Bibliography labels in author-year form, matching the book's author-year citations.

sphinxcontrib-bibtex cites as "Bakshi et al., 2019" (``bibtex_reference_style:
author_year``) but pybtex's stock styles label the list [1], [2], ... or [BJW19]. This
extension registers the pybtex formatting style ``authoryear``: pybtex's ``plain`` style
(entries sorted by author, year, title) with labels "Bakshi et al., 2019", "Kolda and
Bader, 2009", "Kruskal, 1977" (a, b, ... appended when two entries share a label).
Selected in ``_config.yml`` with ``bibtex_default_style: authoryear``.
"""

import codecs
from collections import Counter

import latexcodec  # noqa: F401 -- registers the 'ulatex' codec (a pybtex dependency)

from pybtex.markup import LaTeXParser
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _text(latex):
    return LaTeXParser(codecs.decode(latex, "ulatex")).parse().render_as("text")


def _surname(person):
    return _text(" ".join(person.prelast_names + person.last_names))


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_label(self, entry):
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_surname(p) for p in persons]
        if not names:
            who = _text(entry.fields.get("organization", entry.key))
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        return f"{who}, {entry.fields.get('year', 'n.d.')}"

    def format_labels(self, sorted_entries):
        labels = [self.format_label(entry) for entry in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"


def setup(app):
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
