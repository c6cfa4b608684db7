"""Showing units: a short snippet under each search result, and one unit's code by id or name.

`find_unit(db, "mathx.py:Matrix.transpose")` or `find_unit(db, "12")` reads the index's SQLite
database alone (no model, no FAISS), so `codelm show` answers at once.
"""

from __future__ import annotations

import difflib
import sqlite3

from codelm.errors import CodelmError
from indexers import store

SNIPPET_LINES = 4  # the signature and the lines after it


def snippet(code: str, lines: int = SNIPPET_LINES) -> tuple[str, bool]:
    """The first `lines` non-blank lines of a unit's code (its signature first), and whether
    more lines follow."""
    kept = [line for line in code.splitlines() if line.strip()]
    return "\n".join(kept[:lines]), len(kept) > lines


def lexer_for(language: str):
    """pygments' lexer for a unit's language (the terminal's and the web page's); None when
    pygments does not know the language."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return None


def highlight_terminal(code: str, language: str) -> str:
    """The code coloured for a terminal (pygments' ANSI colours); plain for an unknown language."""
    from pygments import highlight
    from pygments.formatters import TerminalFormatter

    lexer = lexer_for(language)
    return code if lexer is None else highlight(code, lexer, TerminalFormatter()).rstrip("\n")


def render_code(code: str, language: str, color: bool, indent: str = "") -> str:
    """The code, highlighted when `color`, each line prefixed by `indent`."""
    text = highlight_terminal(code, language) if color else code
    return "\n".join(indent + line for line in text.splitlines())


def result_snippet(unit: dict, color: bool, lines: int = SNIPPET_LINES) -> str:
    """The snippet printed under a search result: indented, `…` when the unit goes on."""
    code, more = snippet(unit["code"], lines)
    shown = render_code(code, unit["language"], color, indent="    ")
    return shown + "\n    …" if more else shown


def find_unit(db: sqlite3.Connection, ref: str) -> dict:
    """The unit named by `ref`: an id as search results give it, or PATH:NAME (a qualified name
    such as `mathx.py:Matrix.transpose`). CodelmError naming near matches when none is found."""
    ref = ref.strip()
    if ref.isdigit():
        found = store.read_unit(db, int(ref))
        if found is None:
            raise CodelmError(f"no unit with id {ref}: use an id from `codelm search --json`, or PATH:NAME")
        return found
    path, sep, name = ref.rpartition(":")
    if not sep or not path or not name:
        raise CodelmError(f"{ref!r} names no unit: give an id or PATH:NAME, e.g. mathx.py:Matrix.transpose")
    row = db.execute("SELECT id FROM units WHERE path = ? AND name = ? ORDER BY id LIMIT 1",
                     (path.replace("\\", "/").removeprefix("./"), name)).fetchone()
    if row is None:
        raise CodelmError(f"no unit {ref} in the index{_near(db, ref)}")
    return store.read_unit(db, row[0])


def _near(db: sqlite3.Connection, ref: str) -> str:
    """': did you mean a, b?' listing the indexed PATH:NAMEs closest to `ref`, or ''."""
    names = [f"{path}:{name}" for path, name in db.execute("SELECT path, name FROM units")]
    _, _, short = ref.rpartition(":")
    close = difflib.get_close_matches(ref, names, n=5, cutoff=0.6)
    close += [n for n in names if n.rpartition(":")[2] == short and n not in close][:5 - len(close)]
    return f": did you mean {', '.join(close)}?" if close else ": `codelm search` finds units by what they do"
