"""The trace task's input format: a program (and its stdin) as CodeExecutor's source ids, and
dataset records as {"source", "target", "kind"} examples for the `trace` objective; where each
curriculum stage's dataset lies."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from codelm.errors import UsageError
from tracer.format import code_to_codeexecutor


def source_ids(tokenizer: Any, source: str, stdin: str = "") -> list[int]:
    """Token ids of a program in CodeExecutor's input form, then `</s>` and its stdin if any."""
    ids = tokenizer.encode(code_to_codeexecutor(source))
    return ids + [tokenizer.sep_id, *tokenizer.encode(stdin)] if stdin else ids


def encode_records(tokenizer: Any, records: Iterable[dict]) -> list[dict]:
    """Dataset records (`source`, `input`, `trace_text`, `kind`) as {"source", "target", "kind"} ids."""
    records = list(records)
    traces = tokenizer.encode_batch([r["trace_text"] for r in records])
    return [{"source": source_ids(tokenizer, r["source"], r.get("input") or ""), "target": t,
             "kind": r.get("kind", "")} for r, t in zip(records, traces)]


def stage_dirs(data: str | Path, stages: Sequence[str], split: str = "train") -> dict[str, Path]:
    """The dataset directory of each stage (DIR/NAME, or DIR itself for a single stage)."""
    root = Path(data)
    out = {}
    for name in stages:
        if (root / name / f"{split}.jsonl").is_file():
            out[name] = root / name
        elif len(stages) == 1 and (root / f"{split}.jsonl").is_file():
            out[name] = root
        else:
            raise UsageError(f"no {split}.jsonl for stage {name!r} under {root}: build it with "
                             f"`codelm dataset trace --kind {name} --out {root / name}`")
    return out
