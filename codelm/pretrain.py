"""CodeBERT-style pretraining from a corpus directory: config, overrides, data, `train`."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from codelm.config import PRESETS, ModelConfig
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


def split_overrides(pairs: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
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


def build_model(config: str, tokenizer: Any, changes: dict[str, Any]) -> Any:
    """A fresh CodeLM for a preset or a ModelConfig JSON file, or a checkpoint directory to continue."""
    from codelm.checkpoint import load_pretrained
    from codelm.model import CodeLM

    path = Path(config)
    if config not in PRESETS and path.is_dir():
        if changes:
            raise UsageError("model overrides do not apply when continuing from a checkpoint directory")
        return load_pretrained(path).train()
    fit = dict(vocab_size=tokenizer.vocab_size, pad_token_id=tokenizer.pad_id, bos_token_id=tokenizer.cls_id,
               eos_token_id=tokenizer.eos_id)
    if config in PRESETS:
        cfg = ModelConfig.preset(config, **{**fit, **changes})
    elif path.is_file():
        cfg = ModelConfig.from_dict({**fit, **json.loads(path.read_text()), **changes})
    else:
        raise UsageError(f"--config {config!r}: use tiny, small, base, a ModelConfig JSON file or a checkpoint directory")
    return CodeLM(cfg)


def pretrain(objective: str, config: str, data: str | Path, out: str | Path, overrides: list[str] = (),
             max_steps: int | None = None, resume: bool = False, tokenizer_dir: str | None = None,
             max_length: int = 256) -> dict[str, Any]:
    """Pretrain with `objective` ("mlm", "rtd", "mlm+rtd") on the corpus in `data`; returns train's summary."""
    from codelm.objectives import get_objective
    from codelm.objectives.data import encode_examples
    from codelm.tokenizer import CodeTokenizer, default_tokenizer
    from codelm.train import train
    from indexers.corpus import read_corpus

    model_changes, train_changes = split_overrides(list(overrides))
    if max_steps is not None:
        train_changes["max_steps"] = max_steps
    cfg = TrainConfig(**{**train_changes, "out_dir": str(out)})
    tok = CodeTokenizer.load(tokenizer_dir) if tokenizer_dir else default_tokenizer()
    import torch

    torch.manual_seed(cfg.seed)  # the fresh model's initialization follows the seed
    model = build_model(config, tok, model_changes)
    max_length = min(max_length, model.config.max_length)
    obj = get_objective(objective, tokenizer=tok, max_length=max_length)
    train_data = encode_examples(tok, read_corpus(data, "train"))
    valid_data = encode_examples(tok, read_corpus(data, "valid"))
    if not train_data:
        raise UsageError(f"{data}: the corpus has no training records")
    if hasattr(obj, "fit"):
        obj.fit(train_data)
    tok.save(out)
    result = train(model, obj, train_data, valid_data, cfg, resume=resume)
    result.pop("losses")
    return {"objective": objective, "train_examples": len(train_data), "valid_examples": len(valid_data),
            **result}
