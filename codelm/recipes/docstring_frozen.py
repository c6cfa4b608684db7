"""The `frozen` recipe of `codelm train docstring`: a decoder over a frozen MiniLM encoder.

Steps: select the corpus's documented functions (`data.select_records`), encode them once
with the frozen encoder into a state cache (`states.corpus_states`; reused when it exists),
tokenize each docstring's first sentence with the cased code tokenizer, and train the
decoder (`neural.DocstringDecoder`) with the one trainer (`codelm.train.train`) on the
corpus's train split, the corpus's valid split (split by file) serving as the tune split.
Settings are key=value pairs: DecoderConfig fields (hidden_size, num_layers, ...) and
TrainConfig fields (lr, batch_size, max_steps, time_limit, ...).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import UsageError

DEFAULTS = {"lr": 1e-3, "batch_size": 64, "warmup_steps": 200, "max_steps": 3000, "eval_every": 500,
            "eval_batches": 20, "save_every": 250, "log_every": 20}


def targets(tokenizer: Any, records: Sequence[dict], max_target: int) -> list[list[int]]:
    """Code-tokenizer ids of each record's summary (first sentence), at most max_target - 1."""
    from codelm.tasks.docstring.data import summary

    return [ids[:max_target - 1] for ids in tokenizer.encode_batch([summary(r["nl"]) for r in records])]


def read_records(path: str | Path | None) -> list[dict]:
    """Corpus-style records of a JSONL file (held-out functions); none without a path."""
    if path is None:
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def train_frozen(data: str | Path, out: str | Path, overrides: Sequence[str] = (), resume: bool = False,
                 states: str | Path | None = None, held_out: str | Path | None = None,
                 per_package: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train a frozen-encoder docstring model on the corpus in `data`, writing it to `out`.
    `states`: the state cache folder (default `data/states-ENCODER-MAXSOURCE`); `held_out`: a
    JSONL of functions to keep out of training (see `data.select_records`)."""
    from codelm.pretrain import split_overrides, split_settings
    from codelm.tasks.docstring.data import PER_PACKAGE, select_records
    from codelm.tasks.docstring.neural import DecoderConfig, DocstringDecoder
    from codelm.tasks.docstring.objective import FrozenDocstringObjective
    from codelm.tasks.docstring.states import corpus_states
    from codelm.tokenizer import default_tokenizer
    from codelm.train import TrainConfig, train
    from indexers.corpus import read_corpus

    import torch

    kinds = {f.name: type(f.default) for f in fields(DecoderConfig)}
    model_changes, rest = split_settings(list(overrides), kinds)
    core_changes, train_changes = split_overrides(rest)
    if core_changes:
        raise UsageError(f"{', '.join(core_changes)}: not settings of the frozen architecture's decoder")
    cfg = TrainConfig(**{**DEFAULTS, "progress": progress, **train_changes, "out_dir": str(out)})
    tok = default_tokenizer()
    config = DecoderConfig(**{**model_changes, "vocab_size": tok.vocab_size, "pad_token_id": tok.pad_id,
                              "bos_token_id": tok.cls_id, "eos_token_id": tok.eos_id})
    splits = {s: read_corpus(data, s) for s in ("train", "valid")}
    chosen = select_records([r for rows in splits.values() for r in rows],
                            per_package or PER_PACKAGE, read_records(held_out))
    if not chosen:
        raise UsageError(f"{data}: no documented functions to train on")
    cache_dir = states or Path(data) / f"states-{config.encoder}-{config.max_source}"
    cache = corpus_states(chosen, cache_dir, config.encoder, progress=progress)
    if cache.meta["max_tokens"] != config.max_source or cache.meta["encoder"] != config.encoder:
        raise UsageError(f"{cache_dir}: states of {cache.meta['encoder']} at {cache.meta['max_tokens']} tokens, "
                         f"the model reads {config.encoder} at {config.max_source}")
    kept = {r["id"] for r in chosen}
    examples = {}
    for split, rows in splits.items():
        rows = [r for r in rows if r["id"] in kept]
        examples[split] = [{"row": cache.position[r["id"]], "target": t}
                           for r, t in zip(rows, targets(tok, rows, config.max_target))]
    torch.manual_seed(cfg.seed)
    model = DocstringDecoder(config)
    objective = FrozenDocstringObjective(cache, tok.cls_id, tok.eos_id, tok.pad_id, config.max_target)
    result = train(model, objective, examples["train"], examples["valid"], cfg, resume=resume)
    result.pop("losses")
    return {"arch": "frozen", "encoder": config.encoder, "parameters": sum(p.numel() for p in model.parameters()),
            "train_examples": len(examples["train"]), "tune_examples": len(examples["valid"]), **result}
