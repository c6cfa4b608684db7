"""The `trace` recipe (`codelm train trace`): a CodeExecutor-style trace model trained with a
curriculum on the trace builder's datasets.

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

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import UsageError
from codelm.recipes.base import build_model, fit, settings
from codelm.tasks.trace.predict import SETTINGS_FILE
from codelm.tasks.trace.prompt import stage_dirs

OBJECTIVE_KEYS = {"source_share": float, "structure_weight": float, "value_weight": float}


def stage_mix(datasets: dict[str, list], weights: dict[str, float], seed: int) -> list:
    """The training examples of one curriculum stage, drawn with `tracer.curriculum.mix`."""
    from tracer.curriculum import mix

    total = sum(len(d) for d in datasets.values())
    cycled = {name: itertools.cycle(d) for name, d in datasets.items() if d}
    return [ex for _, ex in itertools.islice(mix(cycled, {n: weights[n] for n in cycled}, seed), total)]


def train_trace(data: str | Path, out: str | Path, stages: Sequence[str] = ("singleline",),
                mix: Sequence[float] | None = None, config: str = "tiny", max_steps: int | None = None,
                overrides: Sequence[str] = (), max_length: int = 512,
                time_limit: float | None = None) -> dict[str, Any]:
    """Curriculum training of a trace model; returns a summary per stage."""
    import torch

    from codelm.core.checkpoint import save_pretrained
    from codelm.objectives import get_objective
    from codelm.tasks.trace.prompt import encode_records
    from codelm.core.tokenizer import default_tokenizer
    from tracer.datasets import read_split

    mix = list(mix) if mix else [1.0] * len(stages)
    if len(mix) != len(stages):
        raise UsageError(f"--mix has {len(mix)} weights for {len(stages)} stages; give one per stage")
    if any(w <= 0 for w in mix):
        raise UsageError(f"--mix {','.join(map(str, mix))}: every weight must be positive")
    dirs = stage_dirs(data, stages)
    objective_kw, model_changes, base_cfg = settings(overrides, out, OBJECTIVE_KEYS, max_steps, time_limit)
    tok = default_tokenizer()
    torch.manual_seed(base_cfg.seed)
    model = build_model(config, tok, model_changes)
    max_length = min(max_length, model.config.max_length)
    objective = get_objective("trace", tokenizer=tok, max_length=max_length, **objective_kw)
    train_sets = {n: encode_records(tok, read_split(d, "train")) for n, d in dirs.items()}
    valid_sets = {n: encode_records(tok, read_split(d, "valid")) for n, d in dirs.items()}
    out = Path(out)
    summary: dict[str, Any] = {"stages": []}
    for k in range(1, len(stages) + 1):
        names = list(stages[:k])
        cfg = dataclasses.replace(base_cfg, out_dir=str(out / f"stage{k}-{names[-1]}"),
                                  time_limit=base_cfg.time_limit / len(stages))  # the budget split evenly
        examples = stage_mix({n: train_sets[n] for n in names}, dict(zip(names, mix)), cfg.seed + k)
        valid = [ex for n in names for ex in valid_sets[n]]
        result = fit(model, objective, examples, valid, cfg)
        summary["stages"].append({"stage": k, "datasets": names, "examples": len(examples), **result})
    save_pretrained(model, out)
    tok.save(out)
    kept = {"max_length": max_length, "stages": list(stages), "mix": mix, **objective_kw}
    (out / SETTINGS_FILE).write_text(json.dumps(kept, indent=2))
    summary["out_dir"] = str(out)
    return summary


