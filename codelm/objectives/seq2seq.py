"""PyMT5-style multi-mode translation between a function's features, and the `seq2seq` objective.

A function has three features: signature, docstring (its summary), body. Each *direction*
translates some of them into others; the source text names the target with a control comment
on its first line, and lays the given features out as they appear in code:

    # target docstring                 # target signature and body
    def parse(self, text):             \"\"\"Parse the text.\"\"\"
        return Parser(text).run()

Identifiers, case and whitespace are kept (the code tokenizer is lossless). As token ids, a
source is `[CLS] <encoder-decoder> source [SEP]` and a target is `target [EOS]`; the model
reads the source in prefix mode (bidirectionally) and the target causally after it. In a
batch, sources are LEFT-padded so every row's last source token sits just before its target
(the same layout batched generation uses), and targets are right-padded.
"""

from __future__ import annotations

import textwrap
from typing import Any, Iterable

import torch
import torch.nn.functional as F

from codelm.objectives import register

IGNORE = -100
# (given features, target features); target names appear in the control comment
DIRECTIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("signature", "body"), ("docstring",)),
    (("signature",), ("docstring",)),
    (("signature", "docstring"), ("body",)),
    (("docstring",), ("signature", "body")),
)
DOCSTRING = DIRECTIONS[0]


def features_of(code: str, docstring: str = "", language: str = "python") -> dict[str, str] | None:
    """{"signature", "docstring", "body"} of the first function in `code` (a corpus record's
    code, docstring removed), with the body indented by four spaces; None when no function."""
    from indexers.extract import extract_text

    units = [u for u in extract_text(code, "function.py", language) if u.kind != "class"]
    if not units or not units[0].signature:
        return None
    unit = units[0]
    body = textwrap.indent(textwrap.dedent(unit.body).strip("\n"), "    ")
    return {"signature": unit.signature.strip(), "docstring": " ".join(docstring.split()),
            "body": body}


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


def seq2seq_batch(sources: list[list[int]], targets: list[list[int]], pad_id: int) -> dict[str, Any]:
    """Left-padded sources then right-padded targets: input_ids and attention_mask (batch,
    S + T), prefix_length S, and labels (batch, T): the target ids, -100 at padding. The
    hidden state at position S - 1 + j predicts labels[:, j]."""
    s, t = max(map(len, sources)), max(map(len, targets))
    ids = torch.full((len(sources), s + t), pad_id, dtype=torch.long)
    labels = torch.full((len(sources), t), IGNORE, dtype=torch.long)
    for i, (src, tgt) in enumerate(zip(sources, targets)):
        ids[i, s - len(src):s] = torch.tensor(src)
        ids[i, s:s + len(tgt)] = torch.tensor(tgt)
        labels[i, :len(tgt)] = torch.tensor(tgt)
    mask = torch.zeros_like(ids)
    for i, (src, tgt) in enumerate(zip(sources, targets)):
        mask[i, s - len(src):s + len(tgt)] = 1
    return {"input_ids": ids, "attention_mask": mask, "prefix_length": s, "labels": labels}


def seq2seq_loss(model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
    """Teacher-forced cross-entropy over target tokens only, in prefix mode."""
    s, labels = batch["prefix_length"], batch["labels"]
    h = model(batch["input_ids"], batch["attention_mask"], mode="prefix", prefix_lengths=s).last_hidden_state
    h = h[:, s - 1:s - 1 + labels.shape[1]]
    chosen = labels != IGNORE
    logits = model.lm_logits(h[chosen]).float()
    target = labels[chosen]
    loss = F.cross_entropy(logits, target)
    acc = (logits.argmax(-1) == target).float().mean()
    return loss, {"acc": float(acc), "tokens": float(batch["attention_mask"].sum())}


@register("seq2seq")
class Seq2Seq:
    """Multi-mode translation; examples are {"source", "target"} id lists (`corpus_examples`)."""

    def __init__(self, tokenizer: Any, **_: Any) -> None:
        self.pad_id = tokenizer.pad_id

    def collate(self, examples: list[dict], generator: torch.Generator) -> dict[str, Any]:
        return seq2seq_batch([e["source"] for e in examples], [e["target"] for e in examples], self.pad_id)

    def __call__(self, model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        return seq2seq_loss(model, batch)
