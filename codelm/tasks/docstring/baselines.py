"""The two baselines of docstring generation: a template from the function name, and BM25
retrieval of the docstring of the most similar training function."""

from __future__ import annotations

import re
from typing import Iterable

_PIECE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SPECIAL = {"init": "Initialize the instance.", "call": "Call the instance.",
            "repr": "Return the representation.", "str": "Return the string form.",
            "len": "Return the length.", "iter": "Iterate over the items.",
            "eq": "Return whether equal.", "hash": "Return the hash."}
_QUESTIONS = {"is", "has", "can", "should", "supports"}


def name_words(name: str) -> list[str]:
    """Words of an identifier, case kept only for acronyms:
    `parseHTTPServer_config` -> ['parse', 'HTTP', 'server', 'config']."""
    words = []
    for piece in name.split("_"):
        for w in _PIECE.findall(piece):
            words.append(w if len(w) > 1 and w.isupper() else w.lower())
    return words


def template_docstring(qualname: str) -> str:
    """A summary built from the last part of a (qualified) name: the first word as a verb,
    the rest as its object. `parse_config` -> "Parse the config.", `Parser.parse` ->
    "Parse.", `is_valid` -> "Return whether valid.", `__init__` -> "Initialize the instance."."""
    last = qualname.rsplit(".", 1)[-1]
    if last.startswith("__") and last.endswith("__") and last.strip("_") in _SPECIAL:
        return _SPECIAL[last.strip("_")]
    words = name_words(last)
    if not words:
        return "Run."
    verb, rest = words[0], " ".join(words[1:])
    if verb in _QUESTIONS:
        clause = rest if verb == "is" and rest else " ".join(["it", verb, rest]).strip()
        return f"Return whether {clause}."
    head = verb[:1].upper() + verb[1:]
    return f"{head} the {rest}." if rest else f"{head}."


class RetrievalBaseline:
    """The docstring of the training function whose code is nearest by BM25 (identifier-split
    code tokens, as the search index uses)."""

    def __init__(self, codes: Iterable[str], docstrings: Iterable[str]) -> None:
        import numpy as np

        from indexers.bm25 import BM25
        from indexers.text import code_tokens

        self.docstrings = list(docstrings)
        documents = [code_tokens(c) for c in codes]
        if len(documents) != len(self.docstrings) or not documents:
            raise ValueError("retrieval needs as many docstrings as codes, at least one")
        self.tokens = code_tokens
        self.index = BM25.build(documents, np.arange(len(documents)))

    def __call__(self, code: str) -> str:
        """The retrieved docstring (the first training one when nothing matches)."""
        ids, _ = self.index.search(self.tokens(code), 1)
        return self.docstrings[int(ids[0])]
