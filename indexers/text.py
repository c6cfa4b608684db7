"""Text views of code: identifier splitting, BM25 tokens, and what is embedded for a unit.

`unit_text` was chosen on the tune split of benchmarks/search_quality.py (3,001 units, 500
queries, docstrings removed, MRR@10 of MiniLM dense search): the split name with kind and
path, then signature and the first 600 characters of the body, 0.591; the raw code, 0.562.
BM25 over `code_tokens(unit_text(u))` (the store's choice) also beat BM25 over the full code
with path and name: 0.485 against 0.442.
"""

from __future__ import annotations

import re

from indexers.units import CodeUnit

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|[A-Z]+|\d+")
STOP = frozenset("""self cls def return if else elif for while in not and or is none true false
the a an of to this that it be as with from import class function var let const new public private
static void int str""".split())
BODY_CHARS = 600


def split_identifier(name: str) -> list[str]:
    """`HTTPServer_start2` -> ['http', 'server', 'start', '2']."""
    parts = []
    for piece in name.split("_"):
        parts += [p.lower() for p in _CAMEL.findall(piece)]
    return parts


def code_tokens(text: str) -> list[str]:
    """BM25 tokens of code or prose: identifier subwords plus whole multi-part identifiers,
    lowercased, without punctuation and the commonest keywords."""
    out = []
    for word in _WORD.findall(text):
        parts = split_identifier(word)
        out += [p for p in parts if p not in STOP and len(p) > 1]
        if len(parts) > 1:
            out.append(word.lower())
    return out


def name_words(name: str) -> str:
    """`Config.load_file` -> 'config load file'."""
    return " ".join(w for part in name.split(".") for w in split_identifier(part))



def embedded_text(name: str, kind: str, path: str, signature: str, body: str, docstring: str = "") -> str:
    """The one definition of what is embedded for a function: its name in words, kind and
    path, the docstring (if given), then its code (the encoder truncates to 128 tokens, so the
    start of the code is what counts). Index time and training time both call this."""
    parts = [f"{name_words(name)} ({kind} in {path})", docstring.strip(), signature.strip(), body[:BODY_CHARS]]
    return "\n".join(p for p in parts if p)


def unit_text(unit: CodeUnit) -> str:
    """What the index embeds for a unit (docstring included)."""
    return embedded_text(unit.name, unit.kind, unit.path, unit.signature, unit.body, unit.docstring)


def record_text(record: dict) -> str:
    """What training embeds for a corpus record's function: the same text without the docstring
    (the docstring is the query). Records carry no kind: a dotted name counts as a method."""
    signature, _, body = record["code"].partition("\n")
    kind = "method" if "." in record["name"] else "function"
    return embedded_text(record["name"], kind, record["path"], signature, body)
