"""The `pretrain` recipe: CodeBERT-style pretraining (mlm, rtd, mlm+rtd) of a fresh core on a
`codelm corpus` directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codelm.errors import UsageError
from codelm.recipes.base import build_model, fit, settings


def pretrain(objective: str, config: str, data: str | Path, out: str | Path, overrides: list[str] = (),
             max_steps: int | None = None, resume: bool = False, tokenizer_dir: str | None = None,
             max_length: int = 256, time_limit: float | None = None) -> dict[str, Any]:
    """Pretrain with `objective` ("mlm", "rtd", "mlm+rtd") on the corpus in `data`; returns train's summary."""
    from codelm.objectives import get_objective
    from codelm.objectives.data import encode_examples
    from codelm.core.tokenizer import CodeTokenizer, default_tokenizer
    from indexers.corpus import read_corpus

    _, model_changes, cfg = settings(overrides, out, None, max_steps, time_limit)
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
    result = fit(model, obj, train_data, valid_data, cfg, resume)
    return {"objective": objective, "train_examples": len(train_data), "valid_examples": len(valid_data),
            **result}
