"""The skeleton every recipe follows: settings from key=value pairs, a model, `fit`, save.

A recipe (`codelm/recipes/<name>.py`) reads its data, then:

    objective_kw, model_changes, cfg = settings(overrides, out, OBJECTIVE_KEYS, max_steps, time_limit)
    model = build_model(config, tokenizer, model_changes)       # or a warm start of its own
    result = fit(model, objective, train_data, valid_data, cfg, resume)

`fit` is the one trainer (`codelm.train.train`) plus the summary every recipe prints.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from codelm.core.config import PRESETS, ModelConfig
from codelm.errors import UsageError
from codelm.train import TrainConfig


def _convert(text: str, like: Any, key: str) -> Any:
    if isinstance(like, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise UsageError(f"{key}={text}: expected true or false")
        return text.lower() in ("true", "1")
    try:
        return type(like)(text) if isinstance(like, (int, float)) else text
    except ValueError:
        raise UsageError(f"{key}={text}: expected a {type(like).__name__}") from None


def split_settings(pairs: Sequence[str], kinds: dict[str, type]) -> tuple[dict[str, Any], list[str]]:
    """key=value strings -> (the settings named in `kinds`, converted to their type; the other pairs)."""
    settings, rest = {}, []
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key in kinds:
            settings[key] = _convert(value, kinds[key](), key)
        else:
            rest.append(pair)
    return settings, rest


def split_overrides(pairs: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """key=value strings -> (ModelConfig changes, TrainConfig changes); unknown keys are usage errors."""
    model_fields = {f.name: f.default for f in fields(ModelConfig)}
    train_fields = {f.name: f.default for f in fields(TrainConfig)}
    model, trainer = {}, {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise UsageError(f"override {pair!r}: write key=value (e.g. lr=3e-4)")
        if key in train_fields and key != "betas":
            trainer[key] = _convert(value, train_fields[key], key)
        elif key in model_fields:
            model[key] = _convert(value, model_fields[key], key)
        else:
            raise UsageError(f"unknown setting {key!r}; use a field of ModelConfig or TrainConfig "
                             f"(e.g. lr, max_steps, batch_size, hidden_size, num_layers)")
    return model, trainer


def settings(overrides: Sequence[str], out: str | Path, objective_keys: dict[str, type] | None = None,
             max_steps: int | None = None, time_limit: float | None = None,
             defaults: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any], TrainConfig]:
    """(objective settings, ModelConfig changes, TrainConfig) of a recipe's key=value overrides;
    `defaults` are the recipe's own TrainConfig defaults, which the overrides beat."""
    objective_kw, rest = split_settings(overrides, objective_keys or {})
    model_changes, train_changes = split_overrides(rest)
    if max_steps is not None:
        train_changes["max_steps"] = max_steps
    if time_limit is not None:
        train_changes["time_limit"] = time_limit
    return objective_kw, model_changes, TrainConfig(**{**(defaults or {}), **train_changes, "out_dir": str(out)})


def build_model(config: str, tokenizer: Any, changes: dict[str, Any]) -> Any:
    """A fresh CodeLM for a preset or a ModelConfig JSON file, or a checkpoint directory to continue."""
    from codelm.core.checkpoint import load_pretrained
    from codelm.core.model import CodeLM

    path = Path(config)
    if config not in PRESETS and path.is_dir():
        if changes:
            raise UsageError("model overrides do not apply when continuing from a checkpoint directory")
        return load_pretrained(path).train()
    fit_vocab = dict(vocab_size=tokenizer.vocab_size, pad_token_id=tokenizer.pad_id, bos_token_id=tokenizer.cls_id,
                     eos_token_id=tokenizer.eos_id)
    if config in PRESETS:
        cfg = ModelConfig.preset(config, **{**fit_vocab, **changes})
    elif path.is_file():
        cfg = ModelConfig.from_dict({**fit_vocab, **json.loads(path.read_text()), **changes})
    else:
        raise UsageError(f"--config {config!r}: use {', '.join(PRESETS)}, a ModelConfig JSON file or a checkpoint directory")
    return CodeLM(cfg)


def fit(model: Any, objective: Any, train_data: Sequence, valid_data: Sequence | None, cfg: TrainConfig,
        resume: bool = False) -> dict[str, Any]:
    """Train with the one trainer; the summary without the per-step losses (their count instead)."""
    from codelm.train import train

    if not train_data:
        raise UsageError("no training examples: check the data directory")
    result = train(model, objective, train_data, valid_data, cfg, resume=resume)
    result["steps_run"] = len(result.pop("losses"))  # by this call: `step` counts a resumed run's earlier ones
    return result
