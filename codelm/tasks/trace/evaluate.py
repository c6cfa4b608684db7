"""The CodeExecutor metrics of a trace model on a dataset split, per dataset kind and over all."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import UsageError

from codelm.tasks.trace.predict import load_trace_model, predict_traces
from codelm.tasks.trace.prompt import stage_dirs


def eval_trace(data: str | Path, model_dir: str | Path, split: str = "test", stages: Sequence[str] | None = None,
               limit: int | None = None) -> dict[str, Any]:
    """The CodeExecutor metrics of a model on a split, per dataset kind and over all; with
    decoding figures. Stages: the datasets under DIR (default: the model's stages, or DIR itself)."""
    from tracer.datasets import read_split
    from tracer.metrics import score_traces

    model, tok, settings = load_trace_model(model_dir)
    root = Path(data)
    if stages is None:
        found = [n for n in settings.get("stages", []) if (root / n / f"{split}.jsonl").is_file()]
        stages = found or [root.name]
    dirs = stage_dirs(root, stages, split)
    records = [r for d in dirs.values() for r in itertools.islice(read_split(d, split), limit)]
    if not records:
        raise UsageError(f"{data}: the {split} split is empty; build more data or pick another --split")
    preds, speed = predict_traces(model, tok, [(r["source"], r.get("input") or "") for r in records],
                                  settings["max_length"], settings.get("source_share", 0.25))
    by_kind: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_kind.setdefault(r.get("kind") or "all", []).append(i)
    result: dict[str, Any] = {"split": split, "examples": len(records), "decoding": speed, "by_stage": {}}
    for kind, idx in by_kind.items():
        result["by_stage"][kind] = {"examples": len(idx), **score_traces([records[i]["trace_text"] for i in idx],
                                                                         [preds[i] for i in idx])}
    result["all"] = score_traces([r["trace_text"] for r in records], preds)
    return result
