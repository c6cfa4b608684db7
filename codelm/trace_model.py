"""Train, run and evaluate a CodeExecutor-style trace model on the trace builder's datasets.

Data: `--data DIR` holds one dataset per stage, `DIR/singleline`, `DIR/tutorial`, ... (each
made by `codelm dataset trace`); with a single stage DIR may be that dataset itself.
Curriculum (CodeExecutor): stage k trains on the first k datasets mixed in the proportions
of their `mix` weights (renormalised), so `singleline,tutorial,codenet` with `0.34,0.33,0.33`
gives SingleLine, then about half/half, then about a third each. A stage draws as many
examples as its datasets hold together (smaller ones repeat), trains `max_steps` steps and
keeps its checkpoints in `OUT/stageK-NAME`; the final model and tokenizer go to OUT, with
`trace_config.json` (block length and loss settings).
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import UsageError

SETTINGS_FILE = "trace_config.json"
OBJECTIVE_KEYS = {"source_share": float, "structure_weight": float, "value_weight": float}


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


def stage_mix(datasets: dict[str, list], weights: dict[str, float], seed: int) -> list:
    """The training examples of one curriculum stage, drawn with `tracer.curriculum.mix`."""
    from tracer.curriculum import mix

    total = sum(len(d) for d in datasets.values())
    cycled = {name: itertools.cycle(d) for name, d in datasets.items() if d}
    return [ex for _, ex in itertools.islice(mix(cycled, {n: weights[n] for n in cycled}, seed), total)]


def train_trace(data: str | Path, out: str | Path, stages: Sequence[str] = ("singleline",),
                mix: Sequence[float] | None = None, config: str = "tiny", max_steps: int | None = None,
                overrides: Sequence[str] = (), max_length: int = 512) -> dict[str, Any]:
    """Curriculum training of a trace model; returns a summary per stage."""
    import torch

    from codelm.checkpoint import save_pretrained
    from codelm.objectives import get_objective
    from codelm.objectives.trace import encode_records
    from codelm.pretrain import build_model, split_overrides, split_settings
    from codelm.tokenizer import default_tokenizer
    from codelm.train import TrainConfig, train
    from tracer.datasets import read_split

    mix = list(mix) if mix else [1.0] * len(stages)
    if len(mix) != len(stages):
        raise UsageError(f"--mix has {len(mix)} weights for {len(stages)} stages; give one per stage")
    if any(w <= 0 for w in mix):
        raise UsageError(f"--mix {','.join(map(str, mix))}: every weight must be positive")
    dirs = stage_dirs(data, stages)
    objective_kw, rest = split_settings(overrides, OBJECTIVE_KEYS)
    model_changes, train_changes = split_overrides(rest)
    if max_steps is not None:
        train_changes["max_steps"] = max_steps
    tok = default_tokenizer()
    torch.manual_seed(train_changes.get("seed", 0))
    model = build_model(config, tok, model_changes)
    max_length = min(max_length, model.config.max_length)
    objective = get_objective("trace", tokenizer=tok, max_length=max_length, **objective_kw)
    train_sets = {n: encode_records(tok, read_split(d, "train")) for n, d in dirs.items()}
    valid_sets = {n: encode_records(tok, read_split(d, "valid")) for n, d in dirs.items()}
    out = Path(out)
    summary: dict[str, Any] = {"stages": []}
    for k in range(1, len(stages) + 1):
        names = list(stages[:k])
        cfg = TrainConfig(**{**train_changes, "out_dir": str(out / f"stage{k}-{names[-1]}")})
        examples = stage_mix({n: train_sets[n] for n in names}, dict(zip(names, mix)), cfg.seed + k)
        valid = [ex for n in names for ex in valid_sets[n]]
        result = train(model, objective, examples, valid, cfg)
        result.pop("losses")
        summary["stages"].append({"stage": k, "datasets": names, "examples": len(examples), **result})
    save_pretrained(model, out)
    tok.save(out)
    settings = {"max_length": max_length, "stages": list(stages), "mix": mix, **objective_kw}
    (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2))
    summary["out_dir"] = str(out)
    return summary


def load_trace_model(model_dir: str | Path) -> tuple[Any, Any, dict[str, Any]]:
    """(model in eval mode on the best device, tokenizer, settings) of a trained trace model."""
    import torch

    from codelm.checkpoint import load_pretrained
    from codelm.tokenizer import CodeTokenizer, default_tokenizer

    root = Path(model_dir)
    if not root.is_dir():
        raise UsageError(f"--model {model_dir}: no such directory; train one with `codelm train trace`")
    model = load_pretrained(root).eval()
    model.to(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    tok = CodeTokenizer.load(root) if (root / "tokenizer.json").is_file() else default_tokenizer()
    settings = json.loads((root / SETTINGS_FILE).read_text()) if (root / SETTINGS_FILE).is_file() else {}
    settings.setdefault("max_length", min(512, model.config.max_length))
    return model, tok, settings


def predict_traces(model: Any, tok: Any, programs: Sequence[tuple[str, str]], max_length: int = 512,
                   source_share: float = 0.25, batch_size: int = 16, use_cache: bool = True,
                   max_new_tokens: int | None = None) -> tuple[list[str], dict[str, float]]:
    """Greedy trace texts of (source, stdin) programs, and decoding figures
    (`trace_tokens`, `seconds`, `tokens_per_s`). Prompts of equal length decode together; a
    trace ends at `</s>`, at the block's end, or after max_new_tokens."""
    import torch

    from codelm.generate import greedy
    from codelm.objectives.trace import PREFIX_SPECIALS, prefix, source_ids

    budget = max_length - PREFIX_SPECIALS - 1
    cap = max(int(budget * source_share), budget - 16)  # leave the trace at least 16 tokens
    prompts = [prefix(tok, source_ids(tok, src, stdin)[:cap]) for src, stdin in programs]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    texts: list[str] = [""] * len(prompts)
    device = next(model.parameters()).device
    n_tokens, start = 0, time.perf_counter()
    for _, group in itertools.groupby(order, key=lambda i: len(prompts[i])):
        group = list(group)
        for b in range(0, len(group), batch_size):
            rows = group[b:b + batch_size]
            ids = torch.tensor([prompts[i] for i in rows], device=device)
            room = max_length - ids.shape[1]
            new = greedy(model, ids, min(room, max_new_tokens or room), eos_id=tok.eos_id, mode="prefix",
                         use_cache=use_cache).tolist()
            for i, out in zip(rows, new):
                ended = tok.eos_id in out
                out = out[:out.index(tok.eos_id)] if ended else out
                n_tokens += len(out) + ended
                texts[i] = tok.decode(out, skip_special=True).strip()
    seconds = time.perf_counter() - start
    return texts, {"trace_tokens": n_tokens, "seconds": round(seconds, 3),
                   "tokens_per_s": round(n_tokens / max(seconds, 1e-9), 1)}


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
