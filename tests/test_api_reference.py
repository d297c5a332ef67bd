"""The API reference appendix (book/api.md) documents every public name of relulib.

A name added to ``relulib.__all__`` without an entry in the appendix fails here, so the
reference cannot silently fall behind the library. The Sphinx build (``-W -n``) then
checks that each entry resolves and that the docstrings are valid numpydoc.
"""

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # a book tool: absent from tools/test_floors.sh

import relulib as rl

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "book" / "api.md"
DIRECTIVE = re.compile(
    r"^\.\. (?:auto(?:function|class|exception|data)|py:data)::\s+(\S+)\s*$", re.M
)


def documented_entries():
    text = API.read_text(encoding="utf-8")
    assert ".. currentmodule:: relulib" in text
    return DIRECTIVE.findall(text)


def test_every_public_name_has_one_entry():
    entries = documented_entries()
    missing = sorted(set(rl.__all__) - set(entries))
    unknown = sorted(set(entries) - set(rl.__all__))
    duplicated = sorted({name for name in entries if entries.count(name) > 1})
    assert not missing, f"names of relulib.__all__ missing from book/api.md: {missing}"
    assert not unknown, f"book/api.md documents names not in relulib.__all__: {unknown}"
    assert not duplicated, f"documented twice in book/api.md: {duplicated}"


def test_every_public_name_is_in_a_summary_table():
    text = API.read_text(encoding="utf-8")
    tables = re.findall(r"\.\. autosummary::\n((?:\n|   .*\n)+)", text)
    listed = [line.strip() for table in tables for line in table.splitlines()]
    missing = sorted(set(rl.__all__) - set(listed))
    assert not missing, f"names missing from the summary tables of book/api.md: {missing}"


def test_stated_constant_values_match_the_library():
    text = API.read_text(encoding="utf-8")
    stated = re.findall(r"^\.\. py:data:: (\S+)\n(?:   :type: .*\n)?   :value: (.+)$", text, re.M)
    assert stated, "no constant with a stated value found"
    for name, value in stated:
        assert repr(getattr(rl, name)) == value, (name, value, getattr(rl, name))


def test_appendix_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    assert "book/api" in files
