"""The docstring task's prompt format, PyMT5-style: multi-mode translation between a
function's features. Training (`codelm.recipes.docstring`) and inference
(`codelm.tasks.docstring.infer`) both use it, so the two can never drift.

A function has three features: signature, docstring (its summary), body. Each *direction*
translates some of them into others; the source text names the target with a control comment
on its first line, and lays the given features out as they appear in code:

    # target docstring                 # target signature and body
    def parse(self, text):             \"\"\"Parse the text.\"\"\"
        return Parser(text).run()

Identifiers, case and whitespace are kept (the code tokenizer is lossless). As token ids, a
source is `[CLS] <encoder-decoder> source [SEP]` and a target is `target [EOS]`; the model
reads the source in prefix mode (bidirectionally) and the target causally after it
(`codelm.objectives.seq2seq`).
"""

from __future__ import annotations

import textwrap
from typing import Any, Iterable

# (given features, target features); target names appear in the control comment
DIRECTIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("signature", "body"), ("docstring",)),
    (("signature",), ("docstring",)),
    (("signature", "docstring"), ("body",)),
    (("docstring",), ("signature", "body")),
)
DOCSTRING = DIRECTIONS[0]


def unit_features(unit: Any, docstring: str = "") -> dict[str, str] | None:
    """{"signature", "docstring", "body"} of an extracted function (`indexers.units.CodeUnit`),
    the body indented by four spaces; None when it has no signature."""
    if not unit.signature:
        return None
    body = textwrap.indent(textwrap.dedent(unit.body).strip("\n"), "    ")
    return {"signature": unit.signature.strip(), "docstring": " ".join(docstring.split()), "body": body}


def features_of(code: str, docstring: str = "", language: str = "python") -> dict[str, str] | None:
    """`unit_features` of the first function in `code` (a corpus record's code, docstring
    removed); None when there is no function."""
    from indexers.extract import extract_text

    units = [u for u in extract_text(code, "function.py", language) if u.kind != "class"]
    return unit_features(units[0], docstring) if units else None


def _layout(features: dict[str, str], names: Iterable[str]) -> str:
    names = set(names)
    lines = []
    if "signature" in names:
        lines.append(features["signature"])
    if "docstring" in names:
        quoted = f'"""{features["docstring"]}"""'
        lines.append(textwrap.indent(quoted, "    ") if "signature" in names else quoted)
    if "body" in names:
        lines.append(features["body"])
    return "\n".join(lines)


def source_text(features: dict[str, str], given: Iterable[str], target: Iterable[str]) -> str:
    """The source of one direction: `# target <names>` then the given features."""
    return f"# target {' and '.join(target)}\n{_layout(features, given)}"


def target_text(features: dict[str, str], target: Iterable[str]) -> str:
    """What the model should write: the docstring summary alone, or the features as code."""
    target = tuple(target)
    return features["docstring"] if target == ("docstring",) else _layout(features, target)


def build_pairs(features: dict[str, str], directions=DIRECTIONS) -> list[dict[str, str]]:
    """One {"source", "target", "direction"} text pair per direction whose features are all
    present (a function without docstring gives none that read or write one)."""
    pairs = []
    for given, target in directions:
        if all(features.get(name, "").strip() for name in (*given, *target)):
            pairs.append({"source": source_text(features, given, target),
                          "target": target_text(features, target),
                          "direction": f"{'+'.join(given)}->{'+'.join(target)}"})
    return pairs


def encode_pair(tokenizer: Any, source: str, target: str | None = None, max_source: int = 192,
                max_target: int = 64) -> dict[str, list[int]]:
    """Token ids {"source": [CLS] <encoder-decoder> ... [SEP], "target": ... [EOS]} (cut to the
    limits, special tokens included); without `target` only the source (for generation)."""
    src = tokenizer.encode(source)[: max_source - 3]
    out = {"source": [tokenizer.cls_id, tokenizer.token_id("<encoder-decoder>"), *src, tokenizer.sep_id]}
    if target is not None:
        out["target"] = [*tokenizer.encode(target)[: max_target - 1], tokenizer.eos_id]
    return out


def corpus_examples(tokenizer: Any, records: Iterable[dict], directions=DIRECTIONS,
                    max_source: int = 192, max_target: int = 64) -> list[dict[str, list[int]]]:
    """Encoded examples of every direction of every corpus record ({"code", "nl", "language"});
    each also carries the record's code ids as "code", so `seq2seq+span` can train on them."""
    out = []
    for record in records:
        features = features_of(record["code"], record.get("nl", ""), record.get("language", "python"))
        if features is None:
            continue
        pairs = build_pairs(features, directions)
        code = tokenizer.encode(record["code"]) if pairs else []
        for pair in pairs:
            out.append({**encode_pair(tokenizer, pair["source"], pair["target"], max_source, max_target),
                        "code": code})
    return out
