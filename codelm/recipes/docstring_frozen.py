"""The `frozen` architecture of `codelm train docstring` (the default): a small decoder over
a frozen MiniLM encoder (`codelm.tasks.docstring.neural`).

Steps: select the corpus's documented functions (`tasks.docstring.data.select_records`),
encode them once with the frozen encoder into a state cache (`tasks.docstring.states`; reused
when it exists), tokenize each docstring's first sentence with the cased code tokenizer, and
fit the decoder with the one trainer on the corpus's train split, the corpus's valid split
(split by file) serving as the tune split. key=value settings: DecoderConfig fields
(hidden_size, num_layers, encoder, ...) and TrainConfig fields (lr, batch_size, ...).
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import UsageError
from codelm.recipes.base import fit, settings

DEFAULTS = {"lr": 1e-3, "batch_size": 64, "warmup_steps": 200, "max_steps": 3000, "eval_every": 500,
            "eval_batches": 20, "save_every": 250, "log_every": 20}


def targets(tokenizer: Any, records: Sequence[dict], max_target: int) -> list[list[int]]:
    """Code-tokenizer ids of each record's summary (first sentence), at most max_target - 1."""
    from codelm.tasks.docstring.data import summary

    return [ids[:max_target - 1] for ids in tokenizer.encode_batch([summary(r["nl"]) for r in records])]


def output_vocabulary(examples: Sequence[dict], keep: Sequence[int], min_count: int = 2) -> list[int]:
    """Token ids the decoder may write: those in at least `min_count` training targets' tokens, plus `keep`."""
    from collections import Counter

    counts = Counter(t for e in examples for t in e["target"])
    return sorted({t for t, n in counts.items() if n >= min_count} | set(keep))


def encoder_embeddings(tokenizer: Any, encoder: str, dim: int, std: float = 0.02) -> Any:
    """A warm start of the decoder's word embeddings: each code token's text, lowercased, read
    by the encoder's WordPiece, its pieces' input embeddings averaged, then projected to `dim`
    by PCA and scaled to `std`; the decoder starts knowing which tokens mean alike."""
    import torch

    from codelm.tasks.docstring.states import load_frozen_encoder

    model, wordpiece = load_frozen_encoder(encoder)
    table = model.embeddings.word.weight.detach()
    texts = [tokenizer.decode([i], skip_special=True).strip().lower() for i in range(tokenizer.vocab_size)]
    pieces = [e.ids[1:-1] for e in wordpiece.encode_batch(texts)]  # without [CLS] and [SEP]
    flat = torch.tensor([i for p in pieces for i in p], dtype=torch.long)
    offsets = torch.tensor([0, *[len(p) for p in pieces]]).cumsum(0)[:-1]
    mean = torch.nn.functional.embedding_bag(flat, table, offsets, mode="mean")  # empty bags give zeros
    centered = mean - mean.mean(0)
    _, vectors = torch.linalg.eigh(centered.T @ centered)  # ascending: the last are the principal axes
    projected = centered @ vectors[:, -dim:].flip(1)
    return projected * (std / projected.std())


def read_records(path: str | Path | None) -> list[dict]:
    """Corpus-style records of a JSONL file (held-out functions); none without a path."""
    if path is None:
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def remember(records: Sequence[dict], kept: set[str], out: str | Path) -> None:
    """Write the memory of the training functions among `records` (ids in `kept`) into `out`."""
    from codelm.tasks.docstring.memory import write_memory
    from codelm.tasks.docstring.writer import normalise

    rows = [r for r in records if r["id"] in kept]
    write_memory([r["code"] for r in rows], [normalise(r["nl"]) for r in rows], out)


def _start_model(init: str | Path, changes: dict[str, Any]) -> Any:
    """The decoder of a trained model directory to go on from; `changes` may only set dropout."""
    from dataclasses import replace

    from codelm.tasks.docstring.neural import DocstringDecoder, is_frozen_model, load_decoder

    if not is_frozen_model(init):
        raise UsageError(f"{init}: not a frozen-encoder docstring model (from `codelm train docstring`)")
    if set(changes) - {"dropout"}:
        raise UsageError(f"{', '.join(sorted(set(changes) - {'dropout'}))}: the shape comes from --init {init}")
    trained = load_decoder(init)
    model = DocstringDecoder(replace(trained.config, **changes))
    model.load_state_dict(trained.state_dict())
    return model


def train_frozen(data: str | Path, out: str | Path, overrides: Sequence[str] = (), max_steps: int | None = None,
                 resume: bool = False, time_limit: float | None = None, states: str | Path | None = None,
                 held_out: str | Path | None = None, per_package: int | None = None,
                 cached_only: bool = False, warm_embeddings: bool = True,
                 init: str | Path | None = None) -> dict[str, Any]:
    """Train a frozen-encoder docstring model on the corpus in `data`, writing it to `out`.
    `states`: the state cache folder (default `data/states-ENCODER-MAXSOURCE`); `held_out`: a
    JSONL of functions kept out of training (see `select_records`); `cached_only`: train on the
    selected functions the cache already holds (a partial cache is a uniform sample), encoding none;
    `warm_embeddings`: start the word embeddings from the encoder's (`encoder_embeddings`);
    `init`: start from a trained model of this architecture instead (its shape, weights and
    output vocabulary; a new schedule, e.g. on more data)."""
    import torch

    from codelm.core.tokenizer import default_tokenizer
    from codelm.tasks.docstring.data import PER_PACKAGE, select_records
    from codelm.tasks.docstring.neural import DecoderConfig, DocstringDecoder
    from codelm.objectives.cached_states import FrozenDocstringObjective
    from codelm.tasks.docstring.states import StateCache, corpus_states
    from indexers.corpus import read_corpus

    kinds = {f.name: type(f.default) for f in fields(DecoderConfig)}
    decoder_changes, core_changes, cfg = settings(overrides, out, kinds, max_steps, time_limit, DEFAULTS)
    if core_changes:
        raise UsageError(f"{', '.join(core_changes)}: not settings of the frozen architecture's decoder")
    tok = default_tokenizer()
    start = _start_model(init, decoder_changes) if init is not None else None
    config = start.config if start is not None else DecoderConfig(**{
        **decoder_changes, "vocab_size": tok.vocab_size, "pad_token_id": tok.pad_id,
        "bos_token_id": tok.cls_id, "eos_token_id": tok.eos_id})
    splits = {s: read_corpus(data, s) for s in ("train", "valid")}
    chosen = select_records([r for rows in splits.values() for r in rows], per_package or PER_PACKAGE,
                            read_records(held_out))
    if not chosen:
        raise UsageError(f"{data}: no documented functions to train on")
    cache_dir = Path(states) if states else Path(data) / f"states-{config.encoder}-{config.max_source}"
    if cached_only:  # corpus_states checks the cache's encoder and length itself
        cache = StateCache(cache_dir)
        if (cache.meta["encoder"], cache.meta["max_tokens"]) != (config.encoder, config.max_source):
            raise UsageError(f"{cache_dir}: states of {cache.meta['encoder']} at {cache.meta['max_tokens']} "
                             f"tokens, the model reads {config.encoder} at {config.max_source}")
        chosen = [r for r in chosen if r["id"] in cache.position]
    else:
        cache = corpus_states(chosen, cache_dir, config.encoder, config.max_source, progress=cfg.progress)
    kept = {r["id"] for r in chosen}
    examples = {}
    for split, rows in splits.items():
        rows = [r for r in rows if r["id"] in kept]
        examples[split] = [{"row": cache.position[r["id"]], "target": t}
                           for r, t in zip(rows, targets(tok, rows, config.max_target))]
    torch.manual_seed(cfg.seed)
    if start is not None:  # its vocabulary: targets' tokens outside it are not scored
        model = start.train()
    else:
        vocabulary = output_vocabulary(examples["train"], (tok.eos_id, tok.unk_id))
        config.output_size = len(vocabulary)
        model = DocstringDecoder(config)
        model.output_ids.copy_(torch.tensor(vocabulary))
    if warm_embeddings and not resume and start is None:  # a resumed run loads its weights
        with torch.no_grad():
            model.word.weight.copy_(encoder_embeddings(tok, config.encoder, config.hidden_size))
    objective = FrozenDocstringObjective(cache, tok.cls_id, tok.eos_id, tok.pad_id, config.max_target)
    result = fit(model, objective, examples["train"], examples["valid"], cfg, resume)
    remember(splits["train"], kept, out)
    return {"arch": "frozen", "encoder": config.encoder, "parameters": sum(p.numel() for p in model.parameters()),
            "train_examples": len(examples["train"]), "tune_examples": len(examples["valid"]), **result}
