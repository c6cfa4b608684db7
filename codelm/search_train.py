"""Fine-tuning a search encoder: MiniLM (or another checkpoint), the contrastive objective,
the shared trainer, on the docstring-code pairs of a `codelm corpus` directory.

The output directory is a complete encoder: weights (transformers layout) plus the base
model's tokenizer files, so `indexers.embed.Encoder(out)` and `codelm index --model OUT` use it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from codelm.errors import UsageError

OBJECTIVE_KEYS = {"temperature": float, "symmetric": bool, "hard_negatives": bool,
                  "max_length": int, "query_length": int}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
# fine-tuning defaults (TrainConfig's are for pretraining from scratch)
DEFAULTS = {"lr": 2e-5, "batch_size": 32, "weight_decay": 0.01, "eval_every": 100, "eval_batches": 20,
            "log_every": 10}


def train_search(data: str | Path, out: str | Path, max_steps: int | None = None,
                 overrides: list[str] = (), base: str = "minilm", resume: bool = False) -> dict[str, Any]:
    """Fine-tune `base` contrastively on the pairs of the corpus `data`; returns train's summary."""
    from codelm.checkpoint import load_pretrained, resolve_model_dir
    from codelm.objectives import get_objective
    from codelm.pretrain import split_overrides, split_settings
    from codelm.train import TrainConfig, train
    from indexers.corpus import read_corpus

    objective_settings, rest = split_settings(overrides, OBJECTIVE_KEYS)
    model_changes, train_changes = split_overrides(rest)
    if model_changes:
        raise UsageError(f"model settings ({', '.join(model_changes)}) do not apply when fine-tuning {base!r}")
    if max_steps is not None:
        train_changes["max_steps"] = max_steps
    settings = {**DEFAULTS, **train_changes}
    settings.setdefault("warmup_steps", max(1, settings.get("max_steps", TrainConfig.max_steps) // 10))
    settings.setdefault("save_every", settings.get("max_steps", TrainConfig.max_steps))
    cfg = TrainConfig(**{**settings, "out_dir": str(out)})
    base_dir = resolve_model_dir(base)
    model = load_pretrained(base_dir).train()
    objective = get_objective("contrastive", tokenizer=str(base_dir), pad_id=model.config.pad_token_id,
                              **objective_settings)
    train_data = [r for r in read_corpus(data, "train") if r["nl"]]
    valid_data = [r for r in read_corpus(data, "valid") if r["nl"]]
    if not train_data:
        raise UsageError(f"{data}: the corpus has no docstring-code pairs to train on")
    objective.fit(train_data)
    result = train(model, objective, train_data, valid_data, cfg, resume=resume)
    result.pop("losses")
    out = Path(out)
    for name in TOKENIZER_FILES:
        if (base_dir / name).is_file():
            shutil.copy2(base_dir / name, out / name)
    return {"base": base, "train_pairs": len(train_data), "valid_pairs": len(valid_data),
            "pairs_per_s": round(result["step"] * cfg.batch_size * cfg.grad_accum / max(result["seconds"], 1e-9), 1),
            **objective_settings, **result}
