"""Snippets under search results and finding a unit by id or PATH:NAME."""

from __future__ import annotations

import pytest

from codelm.errors import CodelmError
from codelm.tasks.search.show import find_unit, result_snippet, snippet
from indexers import store
from indexers.units import CodeUnit

CODE = "def total(xs):\n\n    s = 0\n    for x in xs:\n        s += x\n    return s"


def test_snippet_keeps_the_signature_and_first_lines():
    assert snippet(CODE) == ("def total(xs):\n    s = 0\n    for x in xs:\n        s += x", True)
    assert snippet("def f():\n    return 1") == ("def f():\n    return 1", False)


def test_result_snippet_is_coloured_only_when_asked():
    unit = {"code": CODE, "language": "python"}
    plain = result_snippet(unit, color=False)
    assert plain.splitlines() == ["    def total(xs):", "        s = 0", "        for x in xs:", "            s += x", "    …"]
    coloured = result_snippet(unit, color=True)
    assert "\x1b[" in coloured and "\x1b[" not in plain


@pytest.fixture
def db(tmp_path):
    db = store.connect(tmp_path, create=True)
    for i, (path, name) in enumerate([("mathx.py", "Matrix"), ("mathx.py", "Matrix.transpose")], 1):
        unit = CodeUnit(path, name, "method", "python", i, i + 1, f"def {name}(): pass", "", "", "")
        db.execute(f"INSERT INTO units (id, {', '.join(store.UNIT_FIELDS)}, hash, vector, root) "
                   f"VALUES (?, {', '.join('?' * len(store.UNIT_FIELDS))}, 'h', x'00', '/r')",
                   (i, *unit.__dict__.values()))
    return db


def test_find_unit_by_id_and_by_name(db):
    assert find_unit(db, "2")["name"] == "Matrix.transpose"
    assert find_unit(db, "./mathx.py:Matrix.transpose")["id"] == 2
    with pytest.raises(CodelmError, match="did you mean mathx.py:Matrix.transpose"):
        find_unit(db, "mathx.py:transpose")
    with pytest.raises(CodelmError, match="no unit with id 7"):
        find_unit(db, "7")
    with pytest.raises(CodelmError, match="PATH:NAME"):
        find_unit(db, "transpose")
