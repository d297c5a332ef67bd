"""The student edition of the online book (``_config_student.yml``) gives no solution away.

Builds the student edition and scans every file the build writes (HTML, JavaScript
and JSON, the search index, doctrees, notebook copies: everything under its output
folder) for

* the distinctive phrases of every ``{solution}`` block of the book's sources,
* the distinctive phrases, code lines and printed outputs of every gated solution
  (``{solution-start}`` ... ``{solution-end}``, which may enclose code cells),
* the code and printed outputs of every other code cell tagged ``hide-cell`` or
  ``hide-output`` (hidden, not removed, in the online book) except the install cell
  that opens every chapter,

and fails on any hit. The search index holds stemmed words, not phrases: for each
solution, the stems of its words that appear nowhere in the student page must not be
indexed for that page. The same scans of the full edition must find every solution
(so that the scan can fail).
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # a book tool: absent from tools/test_floors.sh

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
INSTALL_CELL_MARK = "# On Colab or any fresh environment: install the book's library"
WINDOW, STEP, MIN_WORDS = 8, 4, 4  # phrases: see _phrases
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".ttf", ".woff", ".woff2", ".eot"}

# --------------------------------------------------------------------------- sources
def _toc_sources():
    """The book's source files (notebooks and Markdown) listed in _toc.yml."""
    yaml = pytest.importorskip("yaml")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    found = []
    for name in files:
        for suffix in (".ipynb", ".md"):
            if (ROOT / f"{name}{suffix}").exists():
                found.append(ROOT / f"{name}{suffix}")
    return found


def _cells(path: Path):
    """(cell_type, source, tags, output_text) of each cell; a Markdown file is one cell."""
    if path.suffix == ".md":
        return [("markdown", path.read_text(), [], "")]
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        out = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                out.append(output.get("text", ""))
            elif "data" in output:
                out.append(output["data"].get("text/plain", ""))
        cells.append((cell.cell_type, cell.source, cell.metadata.get("tags", []), "".join(out)))
    return cells


_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}(?P<arg>.*)$")


def _split_directives(text: str):
    """[(kind, body)] for the Markdown ``text``: kind "solution" for the body of a
    ``{solution}`` block, "start"/"end" for gated markers (body: the text after the
    marker), "text" for everything else."""
    lines = text.splitlines()
    parts, plain, i = [], [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i].strip())
        if match and match["name"] in ("solution", "solution-start", "solution-end"):
            fence = match["fence"]
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            body = [line for line in lines[i + 1:j] if not re.match(r"^\s*:[\w-]+:", line)]
            parts.append(("text", "\n".join(plain)))
            plain = []
            kind = {"solution": "solution", "solution-start": "start", "solution-end": "end"}
            parts.append((kind[match["name"]], "\n".join(body)))
            i = j + 1
        else:
            plain.append(lines[i])
            i += 1
    parts.append(("text", "\n".join(plain)))
    return parts


def _answers_and_rest(path: Path):
    """(answers, rest): answers is a list of dicts {"where", "prose", "code", "output"} (one
    per solution block, gated solution or hidden answer cell); rest is the source text
    (prose, code and outputs) outside them."""
    answers, rest, gated = [], [], None
    for index, (kind, source, tags, output) in enumerate(_cells(path)):
        if kind == "markdown":
            for part, body in _split_directives(source):
                if part == "start":
                    gated = {"where": f"{path.name}: gated solution at cell {index}",
                             "prose": [], "code": [], "output": []}
                elif part == "end":
                    if gated is not None:
                        answers.append(gated)
                    gated = None
                elif part == "solution":
                    first_line = _normalise(body)[:40]
                    answers.append({"where": f"{path.name}: solution in cell {index} ({first_line})",
                                    "prose": [body], "code": [], "output": []})
                elif gated is not None:
                    gated["prose"].append(body)
                else:
                    rest.append(body)
        elif kind == "code":
            if gated is not None:
                gated["code"].append(source)
                gated["output"].append(output)
            elif {"hide-cell", "hide-output"} & set(tags) and INSTALL_CELL_MARK not in source:
                answers.append({"where": f"{path.name}: hidden cell {index} ({', '.join(tags)})",
                                "prose": [], "code": [source], "output": [output]})
            else:
                rest.extend([source, output])
        else:
            rest.append(source)
    assert gated is None, f"{path.name}: a {{solution-start}} without {{solution-end}}"
    return answers, "\n".join(rest)


def _normalise(text: str) -> str:
    """Lower-case words (letters and digits) separated by single spaces."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _prose_fragments(markdown: str):
    """Normalised fragments of the rendered text of Markdown. Math renders as its TeX
    source and code as its text, so both normalise as in the source; a role
    ({ref}`...`, {prf:ref}`...`) renders as a title, so the text is cut there."""
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", "\x00", markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    return [_normalise(fragment) for fragment in text.split("\x00")]


def _phrases(answer):
    """Normalised phrases of an answer: windows of WINDOW consecutive words (every
    STEP words) of its prose, code and printed output; a shorter fragment of at least
    MIN_WORDS words counts whole."""
    fragments = [f for prose in answer["prose"] for f in _prose_fragments(prose)]
    fragments += [_normalise(block) for block in answer["code"] + answer["output"]]
    found = set()

    def distinctive(phrase):  # not just numbers and symbols, which binary files imitate
        return sum(1 for word in phrase.split() if re.search(r"[a-z]{2}", word)) >= 3

    for fragment in fragments:
        words = fragment.split()
        if len(words) < WINDOW:
            if len(words) >= MIN_WORDS and distinctive(fragment):
                found.add(fragment)
            continue
        for start in range(0, len(words) - WINDOW + 1, STEP):
            window = " ".join(words[start:start + WINDOW])
            if distinctive(window):
                found.add(window)
    return found


@functools.cache
def _answer_catalogue():
    """[(source path, answer, distinctive phrases)] over the book: a phrase is distinctive
    when it occurs nowhere in the book's sources outside the answers."""
    per_file = [(path, *_answers_and_rest(path)) for path in _toc_sources()]
    outside = " | ".join(_normalise(rest) for _, _, rest in per_file)
    catalogue = []
    for path, answers, _ in per_file:
        for answer in answers:
            phrases = sorted({p for p in _phrases(answer) if p not in outside})
            catalogue.append((path, answer, phrases))
    return catalogue


# --------------------------------------------------------------------------- builds
def _build(config: str, path_output: Path) -> Path:
    command = ["jupyter-book", "build", ".", "--config", config, "-W", "-n", "--keep-going",
               "--path-output", str(path_output)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env,
                               timeout=1800)
    html_dir = path_output / "_build" / "html"
    if completed.returncode != 0 or not (html_dir / "index.html").exists():
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout[-5000:]}\n{completed.stderr[-5000:]}")
    return html_dir


@pytest.fixture(scope="session")
def _full_book_html(built_book_html):
    """The full edition: the one build shared by the tests (tests/conftest.py)."""
    return built_book_html


@pytest.fixture(scope="session")
def student_book(tmp_path_factory):
    """The student edition, built into a fresh folder: (output folder, HTML folder)."""
    out = tmp_path_factory.mktemp("student_book")
    return out, _build("_config_student.yml", out)


def _file_texts(folder: Path):
    """{path: normalised text} of every file under ``folder``: HTML with its tags removed
    (and entities decoded), every other file as decoded bytes (JS, JSON, notebooks,
    pickles, doctrees, SVG): all but fonts and raster images."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() in BINARY_SUFFIXES:
            continue
        raw = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".html":
            raw = html.unescape(re.sub(r"<[^>]+>", " ", raw))
        else:
            raw = raw.replace("\\n", " ")  # JSON-escaped newlines in notebooks and indexes
        texts[path] = _normalise(raw)
    return texts


def _hits(texts, catalogue):
    """{answer location: [(file, phrase)]} of the phrases found in the texts."""
    found = {}
    for _, answer, phrases in catalogue:
        for phrase in phrases:
            for path, text in texts.items():
                if phrase in text:
                    found.setdefault(answer["where"], []).append((path.name, phrase))
    return found


def _search_index(html_dir: Path):
    text = (html_dir / "searchindex.js").read_text()
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def _indexed_stems(index, docname: str):
    """The stems the search index lists for ``docname``."""
    doc = index["docnames"].index(docname)
    stems = set()
    for key in ("terms", "titleterms"):
        for stem, docs in index[key].items():
            if doc in (docs if isinstance(docs, list) else [docs]):
                stems.add(stem)
    return stems


@functools.cache
def _english():
    from sphinx.search.en import SearchEnglish

    return SearchEnglish({})


def _stems(text: str, min_length: int = 1):
    """The search-index stems of the words of ``text`` (as Sphinx's English indexer makes them)."""
    language = _english()
    return {language.stem(word) for word in language.split(text) if len(word) >= min_length}


# --------------------------------------------------------------------------- tests
def test_student_config_is_the_book_config_plus_the_student_settings():
    """_config_student.yml differs from _config.yml only in the keys that hide solutions."""
    yaml = pytest.importorskip("yaml")
    book = yaml.safe_load((ROOT / "_config.yml").read_text())
    student = yaml.safe_load((ROOT / "_config_student.yml").read_text())
    sphinx = student["sphinx"]
    assert sphinx["config"].pop("hide_solutions") is True
    assert sphinx["config"].pop("html_copy_source") is False
    assert sphinx["config"].pop("html_theme_options") == {"use_download_button": False}
    extensions = sphinx.pop("local_extensions")
    assert extensions.pop("hide_gated_solutions") == "book/_ext"
    assert extensions == book["sphinx"].pop("local_extensions")
    assert sphinx.pop("recursive_update") is True
    # No link to the repository or launch button: the full notebooks hold the solutions.
    assert sphinx["config"].pop("thebe_config") == {
        "repository_url": book["repository"]["url"], "repository_branch": book["repository"]["branch"]}
    for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        assert student["html"].pop(button) is False and book["html"].pop(button) is True, button
    assert student.pop("launch_buttons") == {"notebook_interface": "jupyterlab", "thebe": False}
    book.pop("launch_buttons")
    for key in ("hide_solutions", "html_copy_source", "html_theme_options"):
        assert key not in book["sphinx"].get("config", {}), key
    assert student == book


def test_every_answer_has_distinctive_phrases():
    catalogue = _answer_catalogue()
    assert sum(1 for _, a, _ in catalogue if a["where"].split(": ")[1].startswith("solution")) >= 10
    blind = [answer["where"] for _, answer, phrases in catalogue if not phrases]
    assert not blind, f"no distinctive phrase to scan for in {blind}"


@pytest.mark.slow
def test_student_edition_contains_no_solution(student_book, _full_book_html):
    out, student_html = student_book
    catalogue = _answer_catalogue()
    # The scan finds every answer in the full edition's HTML ...
    full_hits = _hits(_file_texts(_full_book_html), catalogue)
    missing = [a["where"] for _, a, phrases in catalogue if phrases and a["where"] not in full_hits]
    assert not missing, f"the full edition does not show {missing}: the scan would be blind"
    # ... and none anywhere in the student build (every file under its output folder).
    leaks = _hits(_file_texts(out), catalogue)
    assert not leaks, "the student edition gives away:\n" + "\n".join(
        f"{where}: {hits[:3]}" for where, hits in leaks.items())
    assert not (student_html / "_sources").exists()


@pytest.mark.slow
def test_student_search_index_holds_no_solution_words(student_book, _full_book_html):
    _, student_html = student_book
    student_index, full_index = _search_index(student_html), _search_index(_full_book_html)
    checked = 0
    for path, answer, _ in _answer_catalogue():
        docname = path.relative_to(ROOT).with_suffix("").as_posix()
        page = (student_html / f"{docname}.html").read_text()
        visible = _stems(html.unescape(re.sub(r"<[^>]+>", " ", page)))
        words = " ".join([f for prose in answer["prose"] for f in _prose_fragments(prose)]
                         + answer["code"] + answer["output"])
        only_in_answer = _stems(words, min_length=3) - visible
        if not only_in_answer:
            continue
        checked += 1
        assert only_in_answer & _indexed_stems(full_index, docname), (
            f"{answer['where']}: the full edition's index lacks {sorted(only_in_answer)[:5]}")
        leaked = only_in_answer & _indexed_stems(student_index, docname)
        assert not leaked, f"{answer['where']}: the student search index has {sorted(leaked)}"
    assert checked >= 10, checked


@pytest.mark.slow
def test_student_pages_offer_no_source_download(student_book):
    _, student_html = student_book
    pages = [p for p in student_html.rglob("*.html") if p.name not in ("search.html", "genindex.html")]
    assert pages
    for page in pages:
        text = page.read_text()
        assert "_sources/" not in text and "download-notebook-button" not in text, page


@pytest.mark.parametrize("hide", [False, True])
def test_hide_gated_solutions_extension_on_a_small_project(tmp_path, hide):
    """book/_ext/hide_gated_solutions.py: with hide_solutions, a gated solution and everything
    it encloses (here a code block) is gone; without, sphinx-exercise shows it."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})\n"
        "extensions = ['myst_parser', 'sphinx_exercise', 'hide_gated_solutions']\n"
        f"hide_solutions = {hide}\nhtml_copy_source = False\n")
    (src / "index.md").write_text(
        "# Page\n\n```{exercise} Add\n:label: ex-add\n\nAdd two numbers.\n```\n\n"
        "```{solution-start} ex-add\n:label: sol-add\n```\n\nGated prose answer text.\n\n"
        "```python\nprint('gated code answer')\n```\n\n```{solution-end}\n```\n\n"
        "Text after the solution.\n")
    out = tmp_path / "html"
    completed = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", str(src), str(out)],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    page = (out / "index.html").read_text()
    assert "Add two numbers" in page and "Text after the solution" in page
    for answer in ("Gated prose answer text", "gated code answer"):
        assert (answer in page) is not hide, answer
    assert ("prose" in _search_index(out)["terms"]) is not hide
