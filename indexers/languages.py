"""The languages codelm indexes: file extensions, grammars and the tree-sitter node types
that make functions, methods, classes and named scopes in each.

Grammars come from the per-language tree-sitter wheels, which ship compiled grammars and
load offline (`Language(tree_sitter_python.language())`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter


@dataclass(frozen=True)
class LanguageSpec:
    """How to find units in one language's syntax tree."""

    name: str
    extensions: tuple[str, ...]
    module: str                      # the grammar wheel's module
    entry: str = "language"          # its function returning the grammar
    functions: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()   # named containers that are not units (namespace, impl)
    comments: frozenset[str] = frozenset({"comment"})


def _spec(name, extensions, module, functions, classes, scopes=(), entry="language",
          comments=("comment",)) -> LanguageSpec:
    return LanguageSpec(name, tuple(extensions), module, entry, frozenset(functions),
                        frozenset(classes), frozenset(scopes), frozenset(comments))


_JS_FUNCS = ("function_declaration", "generator_function_declaration", "method_definition")
_JS_CLASSES = ("class_declaration", "class")
SPECS: dict[str, LanguageSpec] = {s.name: s for s in (
    _spec("python", [".py", ".pyi"], "tree_sitter_python", ["function_definition"], ["class_definition"]),
    _spec("javascript", [".js", ".mjs", ".cjs", ".jsx"], "tree_sitter_javascript", _JS_FUNCS, _JS_CLASSES),
    _spec("typescript", [".ts", ".mts", ".cts"], "tree_sitter_typescript", _JS_FUNCS,
          _JS_CLASSES + ("abstract_class_declaration", "interface_declaration"),
          ["internal_module"], entry="language_typescript"),
    _spec("tsx", [".tsx"], "tree_sitter_typescript", _JS_FUNCS,
          _JS_CLASSES + ("abstract_class_declaration", "interface_declaration"),
          ["internal_module"], entry="language_tsx"),
    _spec("go", [".go"], "tree_sitter_go", ["function_declaration", "method_declaration"], ["type_spec"]),
    _spec("java", [".java"], "tree_sitter_java", ["method_declaration", "constructor_declaration"],
          ["class_declaration", "interface_declaration", "enum_declaration", "record_declaration"],
          comments=("line_comment", "block_comment")),
    _spec("rust", [".rs"], "tree_sitter_rust", ["function_item"],
          ["struct_item", "enum_item", "trait_item"], ["impl_item", "mod_item"],
          comments=("line_comment", "block_comment")),
    _spec("c", [".c", ".h"], "tree_sitter_c", ["function_definition"], ["struct_specifier"]),
    _spec("cpp", [".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"], "tree_sitter_cpp",
          ["function_definition"], ["class_specifier", "struct_specifier"], ["namespace_definition"]),
    _spec("ruby", [".rb"], "tree_sitter_ruby", ["method", "singleton_method"], ["class", "module"]),
    _spec("php", [".php"], "tree_sitter_php", ["function_definition", "method_declaration"],
          ["class_declaration", "interface_declaration", "trait_declaration"],
          ["namespace_definition"], entry="language_php"),
    _spec("c_sharp", [".cs"], "tree_sitter_c_sharp",
          ["method_declaration", "constructor_declaration", "local_function_statement"],
          ["class_declaration", "interface_declaration", "struct_declaration", "record_declaration"],
          ["namespace_declaration"]),
    _spec("bash", [".sh", ".bash"], "tree_sitter_bash", ["function_definition"], []),
)}

LANGUAGES: dict[str, tuple[str, ...]] = {name: spec.extensions for name, spec in SPECS.items()}
_BY_EXTENSION = {ext: name for name, spec in SPECS.items() for ext in spec.extensions}


def language_for(path: str) -> str | None:
    """The language of a file by its extension, or None when codelm does not index it."""
    dot = path.rfind(".")
    return _BY_EXTENSION.get(path[dot:].lower()) if dot >= 0 else None


@lru_cache(maxsize=None)
def parser_for(language: str) -> tree_sitter.Parser:
    """A tree-sitter parser for `language` (one per language, cached)."""
    spec = SPECS[language]
    grammar = getattr(importlib.import_module(spec.module), spec.entry)()
    return tree_sitter.Parser(tree_sitter.Language(grammar))
