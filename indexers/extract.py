"""Extract functions, methods and classes from source files with tree-sitter.

One tree-sitter query per language captures every definition (`RULES` in
`indexers.definitions`); the captures, in document order, nest by byte range, which gives
qualified names (`Class.method`, `outer.inner`) without walking the whole tree in Python.
Text is sliced from the file's bytes by node offsets. Files with syntax errors still yield
the definitions that tree-sitter's error recovery keeps.
"""

from __future__ import annotations

import ast
import inspect
from functools import lru_cache
from pathlib import Path

from codelm.errors import CodelmError
from indexers.definitions import COMMENTS, OUTER, RULES, SKIP_BEFORE, body_of, name_of
from indexers.languages import LANGUAGES, grammar_name, language_for, ts_language
from indexers.units import CodeUnit

__all__ = ["LANGUAGES", "language_for", "extract_file", "extract_text"]

_UNIT_ROLES = {"function", "method", "class"}


def extract_file(path: Path, rel: str, language: str, text: str | None = None) -> list[CodeUnit]:
    """The units of one file (read as UTF-8 unless `text` is given), in document order."""
    source = text.encode("utf-8", "surrogatepass") if text is not None else Path(path).read_bytes()
    return _extract(source, rel, language)


def extract_text(text: str, rel: str, language: str) -> list[CodeUnit]:
    """The units of source `text`, as if it were the file `rel` of `language`."""
    return _extract(text.encode("utf-8", "surrogatepass"), rel, language)


@lru_cache(maxsize=None)
def _tools(grammar: str):
    from tree_sitter import Parser, Query, QueryCursor

    language = ts_language(grammar)
    return Parser(language), QueryCursor(Query(language, RULES[grammar].query))


def _extract(src: bytes, rel: str, language: str) -> list[CodeUnit]:
    if src.startswith(b"\xef\xbb\xbf"):
        src = src[3:]  # a UTF-8 byte order mark is no token of any grammar
    grammar = grammar_name(language, rel)
    if grammar not in RULES:
        raise CodelmError(f"unsupported language {language!r}; supported: {', '.join(LANGUAGES)}")
    parser, cursor = _tools(grammar)
    tree = parser.parse(src)
    nodes = cursor.captures(tree.root_node).get("def", [])
    nodes.sort(key=lambda n: (n.start_byte, -n.end_byte))
    roles = RULES[grammar].roles
    units: list[CodeUnit] = []
    stack: list[tuple[int, str, str]] = []  # (end byte, qualified name, role) of open scopes
    for node in nodes:
        while stack and stack[-1][0] <= node.start_byte:
            stack.pop()
        role = roles[node.type]
        name, qualified_by_type = name_of(node, src)
        if not name:
            continue
        parent = stack[-1] if stack else None
        qualname = f"{parent[1]}.{name}" if parent else name
        stack.append((node.end_byte, qualname, role))
        if role not in _UNIT_ROLES:
            continue  # a namespace or an impl block: it names what is inside, no unit itself
        if role == "function" and (qualified_by_type or (parent and parent[2] in ("class", "impl"))):
            role = "method"
        unit = _unit(node, src, rel, language, qualname, role, grammar)
        if unit is not None:
            units.append(unit)
    return units


def _unit(node, src: bytes, rel: str, language: str, qualname: str, kind: str,
          grammar: str) -> CodeUnit | None:
    body = body_of(node)
    if body is None and kind != "class":
        return None  # a declaration without a body (prototype, abstract or interface method)
    outer = node
    while outer.parent is not None and outer.parent.type in OUTER:
        outer = outer.parent
    start, prefix = _line_start(src, outer.start_byte, outer.start_point.column)
    sig_from = outer.start_byte if node.type in ("variable_declarator", "type_spec") else node.start_byte
    if body is not None and body.start_byte > sig_from:
        signature = _dedent(_text(src, sig_from, _header_end(node, body)), prefix).strip()
    else:
        signature = _text(src, sig_from, node.end_byte).split("\n", 1)[0].strip()
    if grammar == "python":
        docstring, body_text = _python_parts(src, body, prefix)
    else:
        docstring = _comment_docstring(outer, src)
        body_text = _dedent(_text(src, body.start_byte, body.end_byte), prefix) if body else ""
    return CodeUnit(path=rel, name=qualname, kind=kind, language=language,
                    start_line=outer.start_point.row + 1, end_line=_end_row(outer) + 1,
                    code=_dedent(_text(src, start, outer.end_byte), prefix),
                    signature=signature, docstring=docstring, body=body_text)


def _header_end(node, body) -> int:
    """Where a definition's header ends: before the body and any comment in front of it."""
    end = body.start_byte
    for child in node.children:
        if child.start_byte >= body.start_byte:
            break
        if child.type not in COMMENTS:
            end = child.end_byte
    return min(end, body.start_byte) if end > node.start_byte else body.start_byte


def _text(src: bytes, start: int, end: int) -> str:
    return src[start:end].decode("utf-8", "replace")


def _end_row(node) -> int:
    """The last line a node covers (a node ending at column 0 ends on the line before)."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


def _line_start(src: bytes, start: int, column: int) -> tuple[int, str]:
    """Where a node's text begins (its line start when only indentation precedes it) and the
    indentation to remove from every line of it."""
    lead = src[start - column:start]
    indent = lead[:len(lead) - len(lead.lstrip(b" \t"))].decode()
    return (start - column if not lead.strip() else start), indent


def _dedent(text: str, prefix: str) -> str:
    if not prefix:
        return text
    n = len(prefix)
    return "\n".join(line[n:] if line.startswith(prefix) else line for line in text.split("\n"))


def _python_parts(src: bytes, body, prefix: str) -> tuple[str, str]:
    """(docstring, body without the docstring) of a Python function or class."""
    if body is None:
        return "", ""
    statements = [c for c in body.named_children if c.type != "comment"]
    docstring, start = "", None
    first = statements[0] if statements else None
    if first is not None and first.type == "expression_statement" and first.named_child_count \
            and first.named_children[0].type in ("string", "concatenated_string"):
        try:
            value = ast.literal_eval(_text(src, first.start_byte, first.end_byte))
        except (SyntaxError, ValueError):
            value = None
        if isinstance(value, str):
            docstring = inspect.cleandoc(value)
            newline = src.find(b"\n", first.end_byte)
            start = body.end_byte if newline < 0 else min(newline + 1, body.end_byte)
    if start is None:
        start, _ = _line_start(src, body.start_byte, body.start_point.column)
    return docstring, _dedent(_text(src, start, body.end_byte), prefix).strip("\n")


def _comment_docstring(outer, src: bytes) -> str:
    """The comment block right above a definition, with the comment markers removed."""
    comments, row = [], outer.start_point.row
    node = outer
    while node.prev_named_sibling is None and node.parent is not None \
            and node.parent.start_byte == node.start_byte:
        node = node.parent  # the first statement of a body: comments sit in front of the body
    sibling = node.prev_named_sibling
    while sibling is not None and _end_row(sibling) >= row - 1:
        if sibling.type in COMMENTS:
            comments.append(_text(src, sibling.start_byte, sibling.end_byte))
        elif sibling.type not in SKIP_BEFORE:
            break
        row = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    lines: list[str] = []
    for comment in reversed(comments):
        lines.extend(_strip_markers(comment))
    return inspect.cleandoc("\n".join(lines)) if lines else ""


def _strip_markers(comment: str) -> list[str]:
    comment = comment.strip()
    if comment.startswith("/*"):
        comment = comment[2:-2] if comment.endswith("*/") else comment[2:]
        comment = comment.lstrip("*!")
        lines = []
        for line in comment.split("\n"):
            line = line.strip()
            line = line[1:] if line.startswith("*") else line
            lines.append(line[1:] if line.startswith(" ") else line)
        return lines
    out = []
    for line in comment.split("\n"):
        line = line.strip()
        if line.startswith("#!"):
            continue
        for marker in ("///", "//!", "//", "#"):
            if line.startswith(marker):
                line = line[len(marker):]
                break
        out.append(line[1:] if line.startswith(" ") else line)
    return out
