"""Docstrings written into files: where, in which style, and never over a changed file."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, strategies as st

from codelm.errors import CodelmError
from codelm.tasks.docstring.insert import (docstring_literal, document_file, insert_docstrings, missing_docstrings,
                                           unified_diff, write_if_unchanged)

SOURCE = """import os


class Store:
\t'''Keeps things.'''

\tdef get(self, key):
\t\t# look it up
\t\treturn self.items[key]

\tdef put(self, key, value):
\t\t'''Store a value.'''
\t\tself.items[key] = value


@cache
async def fetch(url, *, retries=3):
    def inner():
        return url
    return inner()


def one(): return 1
"""


def test_missing_finds_functions_without_docstrings_in_order():
    targets = missing_docstrings(SOURCE)
    assert [(t.name, t.line, t.indent) for t in targets] == [
        ("Store.get", 8, "\t\t"), ("fetch", 18, "    "), ("fetch.inner", 19, "        ")]
    assert [t.name for t in missing_docstrings(SOURCE, force=True)][:2] == ["Store.get", "Store.put"]
    assert [t.name for t in missing_docstrings(SOURCE, names={"fetch"})] == ["fetch"]


def test_insertion_keeps_the_files_style_and_parses():
    targets = missing_docstrings(SOURCE)
    after = insert_docstrings(SOURCE, targets, ["Get a value.", "Fetch a URL.", "The URL."])
    tree = ast.parse(after)
    store, fetch = tree.body[1], tree.body[2]
    assert ast.get_docstring(store.body[1]) == "Get a value."
    assert ast.get_docstring(store.body[2]) == "Store a value."  # kept: never replaced without force
    assert ast.get_docstring(fetch) == "Fetch a URL." and ast.get_docstring(fetch.body[1]) == "The URL."
    assert "\t\t'''Get a value.'''\n\t\t# look it up\n" in after  # tabs and the file's quotes
    diff = unified_diff(SOURCE, after, "pkg/store.py")
    assert diff.startswith("--- a/pkg/store.py\n+++ b/pkg/store.py\n") 
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+\t\t'''Get a value.'''", "+    '''Fetch a URL.'''", "+        '''The URL.'''"]


def test_force_replaces_an_existing_docstring():
    targets = missing_docstrings(SOURCE, names={"Store.put"}, force=True)
    after = insert_docstrings(SOURCE, targets, ["Put a value under a key."])
    assert "Store a value." not in after and "'''Put a value under a key.'''" in after


def test_crlf_files_stay_crlf():
    source = "def f(x):\r\n    return x\r\n"
    after = insert_docstrings(source, missing_docstrings(source), ["Return x."])
    assert after == 'def f(x):\r\n    """Return x."""\r\n    return x\r\n'


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_literal_parses_back_to_the_text(text):
    for quote in ('"""', "'''"):
        literal = docstring_literal(text, quote)
        assert ast.literal_eval(literal) == " ".join(text.split())


def test_document_file_and_write_refuses_a_changed_file(tmp_path):
    path = tmp_path / "store.py"
    path.write_text(SOURCE)
    seen = []

    def write(units):
        seen.extend(u.name for u in units)
        return [f"Doc of {u.name}." for u in units]

    change = document_file(path, write)
    assert seen == ["Store.get", "fetch", "fetch.inner"] and change.docstrings["fetch"] == "Doc of fetch."
    assert path.read_text() == SOURCE  # nothing written yet
    path.write_text(SOURCE + "\n# edited meanwhile\n")
    with pytest.raises(CodelmError, match="changed since it was read"):
        write_if_unchanged(path, change.after, change.read_digest)
    path.write_text(SOURCE)
    path.chmod(0o640)
    write_if_unchanged(path, change.after, change.read_digest)
    assert path.read_text() == change.after and oct(path.stat().st_mode & 0o777) == "0o640"
    with pytest.raises(CodelmError, match="no function 'nope'"):
        document_file(path, write, names={"nope"})
