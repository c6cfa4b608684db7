"""Frozen-encoder states of a corpus, computed once and memory-mapped.

A docstring model of the `frozen` architecture reads each function through a frozen MiniLM
encoder ("minilm" or "minilm-code"); only its decoder trains. So the encoder runs once per
corpus: `cache_states` writes, into one directory,

    states.f16      every function's last-layer states at its real (non-pad) tokens, rows of
                    `dim` float16 values, one function after another (a flat array)
    offsets.npy     int64 row offsets: function i owns rows offsets[i]:offsets[i+1]
    index.json      {"schema", "encoder", "max_tokens", "dim", "count", "ids": [record ids]}

computed in fp32 (the encoder's own precision) and stored in fp16 (half the disk and page
cache). Functions are encoded in chunks (in record-id order, a fixed pseudo-random order; each
chunk in length-sorted batches), appended, and the index is rewritten after every chunk: an
interrupted run keeps its finished chunks, a rerun encodes only what is missing, and a partial
cache is a uniform sample. `StateCache` opens the directory with numpy memory maps, so a
training process touches only the rows of its batches.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from codelm.errors import CodelmError

SCHEMA = 1
MAX_TOKENS = 96  # WordPiece tokens of code read per function (signature and first lines)
BATCH_TOKENS = 2048
CHUNK = 1024  # functions encoded between two index writes
ENCODER = "minilm-code"


def load_frozen_encoder(name: str = ENCODER, max_tokens: int = MAX_TOKENS) -> tuple[Any, Any]:
    """(CodeLM in eval mode with gradients off, `tokenizers.Tokenizer`) of a MiniLM encoder,
    truncating to `max_tokens`."""
    from tokenizers import Tokenizer

    from codelm.core.checkpoint import load_pretrained, resolve_model_dir

    model = load_pretrained(name).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    tokenizer = Tokenizer.from_file(str(resolve_model_dir(name) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return model, tokenizer


def encode_states(model: Any, ids: Sequence[Sequence[int]]) -> list[Any]:
    """Last-layer states (length, dim) of each token-id list, one padded batch, fp32."""
    import torch

    width = max(len(x) for x in ids)
    batch = torch.full((len(ids), width), model.config.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for row, x in enumerate(ids):
        batch[row, :len(x)] = torch.tensor(list(x))
        mask[row, :len(x)] = 1
    with torch.inference_mode():
        h = model(batch, mask).last_hidden_state
    return [h[row, :len(x)] for row, x in enumerate(ids)]


def check_kind(meta: dict, encoder: str, max_tokens: int, where: Path) -> None:
    """CodelmError unless the cache in `where` (its index `meta`) holds states of `encoder` read
    at `max_tokens` tokens."""
    if (meta["encoder"], meta["max_tokens"]) != (encoder, max_tokens):
        raise CodelmError(f"{where}: states of {meta['encoder']} at {meta['max_tokens']} tokens, "
                          f"not {encoder} at {max_tokens}")


def _write_index(out: Path, meta: dict, offsets: list[int]) -> None:
    """Offsets, then the index that says how many of them count (each replaced atomically)."""
    np.save(out / "offsets.tmp.npy", np.asarray(offsets, dtype=np.int64))
    (out / "offsets.tmp.npy").replace(out / "offsets.npy")
    (out / "index.tmp.json").write_text(json.dumps({**meta, "count": len(meta["ids"])}))
    (out / "index.tmp.json").replace(out / "index.json")


def cache_states(codes: Sequence[str], ids: Sequence[str], out: str | Path, encoder: str = ENCODER,
                 max_tokens: int = MAX_TOKENS, batch_tokens: int = BATCH_TOKENS, chunk: int = CHUNK,
                 progress: bool = True) -> Path:
    """Encode the codes whose ids the cache in `out` lacks and append them (see the module docstring)."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "index.json").is_file():
        cache = StateCache(out)
        meta, offsets = dict(cache.meta), [int(x) for x in cache.offsets]
        check_kind(meta, encoder, max_tokens, out)
        meta["ids"] = list(meta["ids"])
    else:
        meta = {"schema": SCHEMA, "encoder": encoder, "max_tokens": max_tokens, "dim": 0, "ids": []}
        offsets = [0]
    done = set(meta["ids"])
    todo = sorted((i for i, rid in enumerate(ids) if rid not in done), key=lambda i: ids[i])
    if not todo:
        return out
    model, tokenizer = load_frozen_encoder(encoder, max_tokens)
    meta["dim"] = model.config.hidden_size
    bar = tqdm(total=len(todo), desc="encode", unit="fn", file=sys.stderr, disable=not progress)
    with open(out / "states.f16", "ab") as handle:
        handle.truncate(offsets[-1] * meta["dim"] * 2)  # drop rows of a chunk the index never counted
        for begin in range(0, len(todo), chunk):
            part = todo[begin:begin + chunk]
            tokens = {i: e.ids for i, e in zip(part, tokenizer.encode_batch([codes[i] for i in part]))}
            order = sorted(part, key=lambda i: -len(tokens[i]))
            states = {}
            while order:
                size = max(1, batch_tokens // len(tokens[order[0]]))  # the longest of the batch comes first
                rows, order = order[:size], order[size:]
                for i, h in zip(rows, encode_states(model, [tokens[i] for i in rows])):
                    states[i] = h.numpy().astype(np.float16)
                bar.update(len(rows))
            for i in part:
                handle.write(states[i].tobytes())
                offsets.append(offsets[-1] + len(states[i]))
                meta["ids"].append(ids[i])
            handle.flush()
            _write_index(out, meta, offsets)
    bar.close()
    return out


def corpus_states(records: Sequence[dict], out: str | Path, encoder: str = ENCODER,
                  max_tokens: int = MAX_TOKENS, progress: bool = True) -> "StateCache":
    """The cache of `records` (corpus records), built in `out` on first use; an existing cache
    must be of the same encoder and length and hold every record."""
    out = Path(out)
    cache = StateCache(out) if (out / "index.json").is_file() else None
    if cache is None or any(r["id"] not in cache.position for r in records):
        cache_states([r["code"] for r in records], [r["id"] for r in records], out, encoder, max_tokens,
                     progress=progress)
    cache = StateCache(out)
    check_kind(cache.meta, encoder, max_tokens, out)
    missing = [r["id"] for r in records if r["id"] not in cache.position]
    if missing:
        raise CodelmError(f"{out}: the cached states lack {len(missing)} of the records; remove the folder to rebuild")
    return cache


class StateCache:
    """Read side of a cache directory: `cache[i]` is function i's (length, dim) float16 array."""

    def __init__(self, directory: str | Path) -> None:
        directory = Path(directory)
        if not (directory / "index.json").is_file():
            raise CodelmError(f"{directory}: no encoder-state cache (index.json missing)")
        self.meta = json.loads((directory / "index.json").read_text())
        self.ids: list[str] = self.meta["ids"][:self.meta["count"]]
        self.offsets = np.load(directory / "offsets.npy")[:len(self.ids) + 1]
        rows = int(self.offsets[-1])
        self.states = (np.memmap(directory / "states.f16", dtype=np.float16, mode="r", shape=(rows, self.meta["dim"]))
                       if rows else np.zeros((0, self.meta["dim"]), dtype=np.float16))
        self.position = {rid: i for i, rid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.states[self.offsets[i]:self.offsets[i + 1]]

    def of(self, record_id: str) -> np.ndarray:
        """The states of the function whose corpus record id is `record_id`."""
        return self[self.position[record_id]]
