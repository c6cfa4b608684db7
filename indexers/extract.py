"""Code units from source text with tree-sitter: functions, methods and classes.

One query per language finds every unit node (in C, fast); qualified names come from the
chain of enclosing units and scopes (`Class.method`, `outer.inner`, Rust `Type.method`, Go
receivers, C++ `A::f` as `A.f`). Python is first-class: its docstring is the first statement
string (cleaned like `inspect.cleandoc`) and its body is the block without it; elsewhere the
docstring is the comment block right above the definition. Syntax errors cost only the units
they break: tree-sitter recovers and every unit without an error inside is kept.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from functools import lru_cache
from pathlib import Path

import tree_sitter

from codelm.errors import CodelmError
from indexers.languages import LANGUAGES, SPECS, LanguageSpec, language_for, parser_for
from indexers.units import CodeUnit

__all__ = ["extract_file", "extract_text", "LANGUAGES", "language_for"]

WRAPPERS = {"decorated_definition", "export_statement", "template_declaration", "type_declaration"}
JS_FUNCTION_VALUES = {"arrow_function", "function_expression", "function", "generator_function"}
NAME_NODES = {"identifier", "field_identifier", "qualified_identifier", "destructor_name",
              "operator_name", "type_identifier", "scoped_identifier", "name"}
_COMMENT_MARK = re.compile(r"^\s*(/\*\*|/\*|\*/|///|//!|//|#|\*)?")


def _valid(grammar: tree_sitter.Language, node_type: str) -> bool:
    """Whether this grammar version has `node_type` (grammars rename nodes across versions)."""
    try:
        tree_sitter.Query(grammar, f"({node_type}) @u")
        return True
    except tree_sitter.QueryError:
        return False


@lru_cache(maxsize=None)
def _query(language: str) -> tree_sitter.Query:
    spec = SPECS[language]
    grammar = parser_for(language).language
    types = [t for t in sorted(spec.functions | spec.classes) if _valid(grammar, t)]
    pattern = f"[{' '.join(f'({t})' for t in types)}] @unit"
    if language in ("javascript", "typescript", "tsx"):
        values = " ".join(f"({t})" for t in sorted(JS_FUNCTION_VALUES) if _valid(grammar, t))
        pattern += f"\n(variable_declarator value: [{values}]) @unit"
    return tree_sitter.Query(grammar, pattern)


def extract_file(path: Path, rel: str, language: str, text: str | None = None) -> list[CodeUnit]:
    """Units of one file; `rel` is its path relative to the indexed root."""
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CodelmError(f"{path}: cannot read as UTF-8 source ({err})") from err
    return extract_text(text, rel, language)


def extract_text(text: str, rel: str, language: str) -> list[CodeUnit]:
    """Units of source `text` in `language`, in source order."""
    spec = SPECS.get(language)
    if spec is None:
        raise CodelmError(f"unsupported language {language!r}; supported: {', '.join(SPECS)}")
    src = text.encode("utf-8", "surrogatepass")
    tree = parser_for(language).parse(src)
    nodes = tree_sitter.QueryCursor(_query(language)).captures(tree.root_node).get("unit", [])
    units = []
    for node in sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte)):
        if node.has_error:
            continue
        unit = _unit(node, spec, src, rel)
        if unit is not None:
            units.append(unit)
    return units


def _text(node: tree_sitter.Node | None, src: bytes) -> str:
    return "" if node is None else src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _declared_name(node: tree_sitter.Node, src: bytes) -> str | None:
    """The name in a C/C++ declarator chain (`int *f(void)`, `A::f`)."""
    d = node.child_by_field_name("declarator")
    while d is not None and d.type not in NAME_NODES:
        d = d.child_by_field_name("declarator") or next(
            (c for c in d.named_children if c.type in NAME_NODES), None)
    return None if d is None else _text(d, src).replace("::", ".")


def _name(node: tree_sitter.Node, spec: LanguageSpec, src: bytes) -> str | None:
    if node.type == "impl_item":  # Rust: methods are named after the implemented type
        return re.sub(r"<.*", "", _text(node.child_by_field_name("type"), src)) or None
    named = node.child_by_field_name("name")
    if named is not None:
        return _text(named, src).replace("::", ".")
    if spec.name in ("c", "cpp") and node.type == "function_definition":
        return _declared_name(node, src)
    return None


def _receiver(node: tree_sitter.Node, src: bytes) -> str | None:
    """Go: the receiver's type name of a method declaration."""
    receiver = node.child_by_field_name("receiver")
    stack = [receiver] if receiver is not None else []
    while stack:
        n = stack.pop(0)
        if n.type == "type_identifier":
            return _text(n, src)
        stack.extend(n.named_children)
    return None


def _is_unit(node: tree_sitter.Node, spec: LanguageSpec) -> bool:
    if node.type == "variable_declarator":
        value = node.child_by_field_name("value")
        return value is not None and value.type in JS_FUNCTION_VALUES
    if node.type == "type_spec":  # Go: only struct and interface types are classes
        kind = node.child_by_field_name("type")
        return kind is not None and kind.type in ("struct_type", "interface_type")
    if node.type == "struct_specifier":  # C/C++: a struct with a body
        return node.child_by_field_name("body") is not None
    return node.type in spec.functions or node.type in spec.classes


def _scope(node: tree_sitter.Node, spec: LanguageSpec, src: bytes) -> tuple[list[str], bool]:
    """Names of the enclosing units and scopes (outermost first), and whether the innermost
    enclosing one is a class-like container (making a function a method)."""
    names: list[str] = []
    in_class: bool | None = None
    parent = node.parent
    while parent is not None:
        is_class = parent.type in spec.classes or parent.type in ("impl_item", "trait_item")
        if _is_unit(parent, spec) or parent.type in spec.scopes:
            name = _name(parent, spec, src)
            if name:
                names.append(name)
            if in_class is None and (is_class or parent.type in spec.functions):
                in_class = is_class
        parent = parent.parent
    return names[::-1], bool(in_class)


def _unit(node: tree_sitter.Node, spec: LanguageSpec, src: bytes, rel: str) -> CodeUnit | None:
    if not _is_unit(node, spec):
        return None
    name = _name(node, spec, src)
    if not name:
        return None
    scope, in_class = _scope(node, spec, src)
    is_class = node.type in spec.classes or node.type == "type_spec"
    kind = "class" if is_class else ("method" if in_class else "function")
    if spec.name == "go" and node.type == "method_declaration":
        receiver = _receiver(node, src)
        scope, kind = ([receiver] if receiver else scope), "method"
    if "." in name and kind == "function":  # C++ `A::f` defined out of line
        kind = "method"
    outer = node
    while outer.parent is not None and outer.parent.type in WRAPPERS:
        outer = outer.parent
    line_start = src.rfind(b"\n", 0, outer.start_byte) + 1
    code = textwrap.dedent(src[line_start:outer.end_byte].decode("utf-8", "replace"))
    body_node = node.child_by_field_name("body") or node.child_by_field_name("value")
    signature, docstring, body = _parts(node, outer, body_node, spec, src)
    return CodeUnit(path=rel, name=".".join(scope + [name]), kind=kind, language=spec.name,
                    start_line=outer.start_point[0] + 1, end_line=node.end_point[0] + 1,
                    code=code, signature=signature, docstring=docstring, body=body)


def _parts(node: tree_sitter.Node, outer: tree_sitter.Node, body_node: tree_sitter.Node | None,
           spec: LanguageSpec, src: bytes) -> tuple[str, str, str]:
    """(signature, docstring, body) of a unit."""
    end = body_node.start_byte if body_node is not None else node.end_byte
    signature = " ".join(src[node.start_byte:end].decode("utf-8", "replace").split()).rstrip(":{ ")
    if body_node is None:
        return signature, _comment_above(outer, spec, src), ""
    if spec.name == "python":
        docstring, body_start = _python_docstring(body_node, src)
        line_start = src.rfind(b"\n", 0, body_start) + 1 if body_start > body_node.start_byte else body_node.start_byte
        body = textwrap.dedent(src[line_start:body_node.end_byte].decode("utf-8", "replace")).strip("\n")
        return signature, docstring, body
    return signature, _comment_above(outer, spec, src), _text(body_node, src)


def _python_docstring(block: tree_sitter.Node, src: bytes) -> tuple[str, int]:
    """The cleaned docstring of a Python block and the byte where the rest of the body starts."""
    first = block.named_children[0] if block.named_children else None
    if first is None or first.type != "expression_statement" or not first.named_children \
            or first.named_children[0].type not in ("string", "concatenated_string"):
        return "", block.start_byte
    literal = _text(first, src)
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = literal.strip("\"'")
    rest = first.next_sibling
    while rest is not None and not rest.is_named:
        rest = rest.next_sibling
    text = inspect.cleandoc(value) if isinstance(value, str) else ""
    return text, rest.start_byte if rest is not None else block.end_byte


def _comment_above(node: tree_sitter.Node, spec: LanguageSpec, src: bytes) -> str:
    """The contiguous comment block ending on the line right above `node`, markers removed."""
    comments: list[str] = []
    line = node.start_point[0]
    prev = node.prev_sibling
    while prev is None and node.parent is not None and node.parent.start_byte == node.start_byte:
        node = node.parent  # Ruby: a method opens its class's body_statement
        prev = node.prev_sibling
    while prev is not None and prev.type in spec.comments and prev.end_point[0] >= line - 1:
        comments.append(_text(prev, src))
        line = prev.start_point[0]
        prev = prev.prev_sibling
    lines = []
    for raw in "\n".join(reversed(comments)).splitlines():
        stripped = _COMMENT_MARK.sub("", raw, count=1).rstrip()
        lines.append(stripped[:-2].rstrip() if stripped.endswith("*/") else stripped)
    return inspect.cleandoc("\n".join(lines)).strip()
