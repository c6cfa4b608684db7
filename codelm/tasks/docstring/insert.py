"""Writing docstrings where they belong: into the functions and methods of a Python file.

`missing_docstrings(source)` finds the functions without a docstring (all of them with
`force`), `insert_docstrings(source, texts)` puts one docstring into each, in the file's own
style: the indentation of the function's body (tabs kept), the quote style its existing
docstrings use (`\"\"\"` when it has none), its line endings. `unified_diff` shows the change;
`write_if_unchanged` applies it only if the file is still as it was read.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import itertools
import os
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from codelm.errors import CodelmError


@dataclass
class Target:
    """A function to document: its qualified name and where its docstring goes."""

    name: str
    line: int  # 1-based line of the body's first statement (or of the docstring it replaces)
    end_line: int  # last line replaced (line - 1 when inserting)
    indent: str  # the body's indentation, as written


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, node) of every function and method, outer before inner."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield name, node
            yield from _functions(node, f"{name}.")


def parse_python(source: str, path: str = "<file>") -> ast.Module:
    """The module's tree; CodelmError with the line for a syntax error."""
    try:
        return ast.parse(source)
    except SyntaxError as err:
        raise CodelmError(f"{path}:{err.lineno}: syntax error ({err.msg}); fix it before adding docstrings") from None


def missing_docstrings(source: str, names: set[str] | None = None, force: bool = False,
                       path: str = "<file>") -> list[Target]:
    """The functions (those in `names`, or all) that have no docstring, or every one with
    `force` (their docstring is then replaced). One-line functions (`def f(): return 1`) are
    left alone: a docstring cannot go in without rewriting the line."""
    return _targets(parse_python(source, path), source.splitlines(), names, force)


def _targets(tree: ast.Module, lines: list[str], names: set[str] | None, force: bool) -> list[Target]:
    """`missing_docstrings` of a parsed module."""
    targets = []
    for name, node in _functions(tree):
        if names is not None and name not in names:
            continue
        has = ast.get_docstring(node, clean=False) is not None
        if (has and not force) or node.body[0].lineno == node.lineno:
            continue
        first = node.body[0]
        text = lines[first.lineno - 1]
        indent = text[:len(text) - len(text.lstrip())]
        if has:  # the docstring's own lines are replaced
            targets.append(Target(name, first.lineno, first.end_lineno, indent))
        else:  # right under the signature, above any comment that opens the body
            line = _header_end(lines, node.lineno) + 1
            targets.append(Target(name, line, line - 1, indent))
    return targets


def _header_end(lines: list[str], def_line: int) -> int:
    """The line of the colon that ends the `def` header starting at `def_line` (1-based)."""
    depth = 0
    rest = (line + "\n" for line in itertools.islice(lines, def_line - 1, None))  # read only up to the colon
    for token in tokenize.generate_tokens(lambda: next(rest, "")):
        if token.type == tokenize.OP:
            depth += token.string in "([{"
            depth -= token.string in ")]}"
            if token.string == ":" and depth == 0:
                return def_line + token.start[0] - 1
    raise CodelmError(f"line {def_line}: cannot find the end of the function's signature")


def quote_style(source: str) -> str:
    """The triple quote the file's docstrings use most (`\"\"\"` when it has none)."""
    counts = {'"""': 0, "'''": 0}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING:
                body = token.string.lstrip("rRbBuUfF")
                if body[:3] in counts:
                    counts[body[:3]] += 1
    except (tokenize.TokenError, SyntaxError):
        pass
    return "'''" if counts["'''"] > counts['"""'] else '"""'


def docstring_literal(text: str, quote: str) -> str:
    """`text` as a one-line docstring literal in `quote`, escaped so it parses back to `text`."""
    text = " ".join(text.replace("\\", "\\\\").split())
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    if quote in text or text.endswith(quote[0]):
        text = text.replace(quote[0], "\\" + quote[0])
    return f"{quote}{text}{quote}"


def insert_docstrings(source: str, targets: list[Target], texts: list[str]) -> str:
    """`source` with `texts[i]` as the docstring of `targets[i]`."""
    newline = "\r\n" if "\r\n" in source else "\n"
    lines = source.splitlines(keepends=True)
    quote = quote_style(source)
    for target, text in sorted(zip(targets, texts), key=lambda p: -p[0].line):
        new = f"{target.indent}{docstring_literal(text, quote)}{newline}"
        lines[target.line - 1:target.end_line] = [new]
    return "".join(lines)


def unified_diff(before: str, after: str, path: str) -> str:
    """The change as a unified diff (`a/PATH`, `b/PATH`), "" when there is none."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        f"a/{path}", f"b/{path}"))


def digest(data: bytes) -> str:
    """What `write_if_unchanged` compares: the file's bytes, hashed."""
    return hashlib.sha256(data).hexdigest()


def write_if_unchanged(path: str | Path, text: str, read_digest: str) -> None:
    """Replace the file with `text` (atomically, mode kept) unless it changed since it was read."""
    path = Path(path)
    if digest(path.read_bytes()) != read_digest:
        raise CodelmError(f"{path}: changed since it was read; nothing written (run the command again)")
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Change:
    """What documenting a file would do: the text before and after, and each docstring."""

    path: Path
    before: str
    after: str
    read_digest: str
    docstrings: dict[str, str]  # qualified name -> docstring written


def document_file(path: str | Path, write: Callable[[Sequence[Any]], list[str]], names: set[str] | None = None,
                  force: bool = False) -> Change:
    """Docstrings for the undocumented functions of a Python file (those in `names`, or all;
    every one with `force`), from `write(units) -> texts`; the file itself is not touched."""
    from codelm.tasks.docstring.infer import read_source
    from indexers.extract import extract_text

    path = Path(path)
    if path.suffix != ".py":
        raise CodelmError(f"{path}: docstrings are written into Python files (.py) only")
    data, source = read_source(path)
    tree = parse_python(source, str(path))
    targets = _targets(tree, source.splitlines(), names, force)
    if names is not None and not targets:
        known = {n for n, _ in _functions(tree)}
        missing = sorted(names - known)
        if missing:
            raise CodelmError(f"{path}: no function {missing[0]!r}; give --name as Class.method")
    units = {u.name: u for u in extract_text(source, path.name, "python") if u.kind != "class"}
    found = [t for t in targets if t.name in units]
    texts = write([units[t.name] for t in found]) if found else []
    kept = [(t, x.strip()) for t, x in zip(found, texts) if x.strip()]  # an empty answer writes nothing
    return Change(path, source, insert_docstrings(source, [t for t, _ in kept], [x for _, x in kept]),
                  digest(data), {t.name: x for t, x in kept})
