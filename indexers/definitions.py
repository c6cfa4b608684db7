"""Per-language tables for extraction: which tree-sitter nodes are definitions, and their names.

Roles: `function` (a method when directly inside a class-like scope), `method` (always one),
`class` (classes, structs, interfaces, traits, enums, Ruby modules), `namespace` (names what
is inside, no unit: C++/C#/PHP namespaces, Rust `mod`) and `impl` (a Rust `impl` block: names
its methods after the type).
"""

from __future__ import annotations

from dataclasses import dataclass

COMMENTS = {"comment", "line_comment", "block_comment"}
SKIP_BEFORE = {"attribute_item", "inner_attribute_item", "decorator", "annotation"}
# wrappers whose text belongs to the definition inside (decorators, `export`, `template<...>`)
OUTER = {"decorated_definition", "export_statement", "template_declaration", "lexical_declaration",
         "variable_declaration", "type_declaration"}
_C_NAMES = {"identifier", "field_identifier", "qualified_identifier", "destructor_name",
            "operator_name", "type_identifier"}


def body_of(node):
    """The body node of a definition (None for a declaration without one)."""
    if node.type in ("variable_declarator", "field_definition", "public_field_definition"):
        value = node.child_by_field_name("value")  # `f = () => {...}`: the function's body
        return value.child_by_field_name("body") if value is not None else None
    if node.type == "type_spec":
        return node.child_by_field_name("type")  # Go: `type Point struct {...}`
    return node.child_by_field_name("body")


@dataclass
class Rule:
    """How to find definitions in one grammar: node type -> role, and the query patterns of
    node types captured only under a condition (all other types are captured as they are)."""

    roles: dict[str, str]
    patterns: str = ""

    @property
    def query(self) -> str:
        plain = tuple(t for t in self.roles if f"({t} " not in self.patterns)
        return "[" + " ".join(f"({t})" for t in plain) + "] @def\n" + self.patterns


_JS_ROLES = {"function_declaration": "function", "generator_function_declaration": "function",
             "class_declaration": "class", "method_definition": "method",
             "variable_declarator": "function", "field_definition": "method"}
_FUNCTION_VALUE = "value: [(arrow_function) (function_expression)]) @def\n"
_JS_PATTERNS = (f"(variable_declarator name: (identifier) {_FUNCTION_VALUE}"
                f"(field_definition property: (property_identifier) {_FUNCTION_VALUE}")
_TS_PATTERNS = (f"(variable_declarator name: (identifier) {_FUNCTION_VALUE}"
                f"(public_field_definition name: (property_identifier) {_FUNCTION_VALUE}")
_TS_ROLES = {**_JS_ROLES, "abstract_class_declaration": "class", "interface_declaration": "class",
             "enum_declaration": "class", "internal_module": "namespace",
             "public_field_definition": "method"}
del _TS_ROLES["field_definition"]
_CPP_ROLES = {"function_definition": "function", "class_specifier": "class",
              "struct_specifier": "class", "namespace_definition": "namespace"}
_STRUCT_PATTERN = "(struct_specifier name: (_) body: (_)) @def\n(class_specifier name: (_) body: (_)) @def\n"

RULES: dict[str, Rule] = {
    "python": Rule({"function_definition": "function", "class_definition": "class"}),
    "javascript": Rule(_JS_ROLES, _JS_PATTERNS),
    "typescript": Rule(_TS_ROLES, _TS_PATTERNS),
    "tsx": Rule(_TS_ROLES, _TS_PATTERNS),
    "go": Rule({"function_declaration": "function", "method_declaration": "method",
                "type_spec": "class"},
               "(type_spec type: [(struct_type) (interface_type)]) @def\n"),
    "java": Rule({"class_declaration": "class", "interface_declaration": "class",
                  "enum_declaration": "class", "record_declaration": "class",
                  "method_declaration": "method", "constructor_declaration": "method"}),
    "rust": Rule({"function_item": "function", "struct_item": "class", "enum_item": "class",
                  "union_item": "class", "trait_item": "class", "impl_item": "impl",
                  "mod_item": "namespace"}),
    "c": Rule({"function_definition": "function", "struct_specifier": "class"},
              "(struct_specifier name: (_) body: (_)) @def\n"),
    "cpp": Rule(_CPP_ROLES, _STRUCT_PATTERN),
    "ruby": Rule({"method": "function", "singleton_method": "method", "class": "class",
                  "module": "class"}),
    "php": Rule({"function_definition": "function", "method_declaration": "method",
                 "class_declaration": "class", "interface_declaration": "class",
                 "trait_declaration": "class", "enum_declaration": "class",
                 "namespace_definition": "namespace"}),
    "c_sharp": Rule({"class_declaration": "class", "struct_declaration": "class",
                     "interface_declaration": "class", "record_declaration": "class",
                     "enum_declaration": "class", "method_declaration": "method",
                     "constructor_declaration": "method", "local_function_statement": "function",
                     "namespace_declaration": "namespace",
                     "file_scoped_namespace_declaration": "namespace"}),
    "bash": Rule({"function_definition": "function"}),
}


def name_of(node, src: bytes) -> tuple[str, bool]:
    """(name, qualified_by_type) of a definition node; name "" when it has none.

    `qualified_by_type` is true when the name itself says the unit is a method: a C++
    `Type::method` defined outside its class, or a Go method with a receiver.
    """
    if node.type == "function_definition" and node.child_by_field_name("declarator") is not None:
        return _c_function_name(node, src)
    if node.type == "method_declaration" and node.child_by_field_name("receiver") is not None:
        receiver = node.child_by_field_name("receiver")
        types = [p.child_by_field_name("type") for p in receiver.named_children]
        owner = _clean(_text(types[0], src)).lstrip("*").split("[")[0] if types and types[0] else ""
        name = _text(node.child_by_field_name("name"), src)
        return (f"{owner}.{name}" if owner else name), bool(owner)
    if node.type == "impl_item":
        return _clean(_text(node.child_by_field_name("type"), src)), False
    name_node = node.child_by_field_name("name") or node.child_by_field_name("property")
    if name_node is None or name_node.is_missing or name_node.has_error:
        return "", False
    return _clean(_text(name_node, src)), False


def _c_function_name(node, src: bytes) -> tuple[str, bool]:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type not in _C_NAMES:
        declarator = declarator.child_by_field_name("declarator")
    if declarator is None or declarator.has_error:
        return "", False
    name = _clean(_text(declarator, src))
    return name, declarator.type == "qualified_identifier"


def _text(node, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace") if node is not None else ""


def _clean(name: str) -> str:
    """A name in dotted form: `a::B` and `A\\B` become `a.B`; generic arguments dropped."""
    name = name.split("<")[0].strip().replace("::", ".").replace("\\", ".")
    return " ".join(name.split())
