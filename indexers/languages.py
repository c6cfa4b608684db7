"""Supported languages: file extensions and the tree-sitter grammar behind each."""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import PurePath

# language name -> file extensions (lower case, with the dot)
LANGUAGES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi"),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".mts", ".cts", ".tsx"),
    "go": (".go",),
    "java": (".java",),
    "rust": (".rs",),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++"),
    "ruby": (".rb",),
    "php": (".php",),
    "c_sharp": (".cs",),
    "bash": (".sh", ".bash"),
}

_BY_EXT = {ext: lang for lang, exts in LANGUAGES.items() for ext in exts}

# language -> (grammar module, function returning the language pointer)
_GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "java": ("tree_sitter_java", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "c_sharp": ("tree_sitter_c_sharp", "language"),
    "bash": ("tree_sitter_bash", "language"),
}


def language_for(path: str | PurePath) -> str | None:
    """The supported language of a file, from its extension; None when unsupported."""
    return _BY_EXT.get(PurePath(path).suffix.lower())


def grammar_name(language: str, rel: str = "") -> str:
    """The grammar to parse a file with: TypeScript's `.tsx` files need the TSX grammar."""
    if language == "typescript" and rel.lower().endswith(".tsx"):
        return "tsx"
    return language


@lru_cache(maxsize=None)
def ts_language(grammar: str):
    """The tree-sitter `Language` of a grammar name (cached)."""
    from tree_sitter import Language

    if grammar not in _GRAMMARS:
        raise ValueError(f"unsupported language {grammar!r}; supported: {', '.join(LANGUAGES)}")
    module, func = _GRAMMARS[grammar]
    return Language(getattr(importlib.import_module(module), func)())
