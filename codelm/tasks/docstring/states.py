"""Frozen-encoder states of a corpus, computed once and memory-mapped.

A docstring model of the `frozen` architecture reads each function through a frozen MiniLM
encoder ("minilm" or "minilm-code"); only its decoder trains. So the encoder runs once per
corpus: `cache_states` writes, into one directory,

    states.npy      every function's last-layer states at its real (non-pad) tokens, rows of
                    `dim` float16 values, one function after another (a flat array)
    offsets.npy     len(records) + 1 int64 row offsets: function i owns rows offsets[i]:offsets[i+1]
    index.json      {"schema", "encoder", "max_tokens", "dim", "count", "ids": [record ids]}

computed in fp32 (the encoder's own precision) and stored in fp16 (half the disk and page cache).
`StateCache` opens the directory with numpy memory maps, so a training process touches only
the rows of its batches.
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
ENCODER = "minilm-code"


def load_frozen_encoder(name: str = ENCODER, max_tokens: int = MAX_TOKENS) -> tuple[Any, Any]:
    """(CodeLM in eval mode with gradients off, `tokenizers.Tokenizer`) of a MiniLM encoder,
    truncating to `max_tokens`."""
    from tokenizers import Tokenizer

    from codelm.checkpoint import load_pretrained, resolve_model_dir

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


def cache_states(codes: Sequence[str], ids: Sequence[str], out: str | Path, encoder: str = ENCODER,
                 batch_tokens: int = BATCH_TOKENS, progress: bool = True) -> Path:
    """Encode every code text once (length-sorted batches) and write the cache into `out`."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model, tokenizer = load_frozen_encoder(encoder)
    tokens = [e.ids for e in tokenizer.encode_batch(list(codes))]
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t) for t in tokens])
    dim = model.config.hidden_size
    flat = np.lib.format.open_memmap(out / "states.npy", mode="w+", dtype=np.float16,
                                     shape=(int(offsets[-1]), dim))
    order = sorted(range(len(tokens)), key=lambda i: -len(tokens[i]))
    bar = tqdm(total=len(order), desc="encode", unit="fn", file=sys.stderr, disable=not progress)
    start = 0
    while start < len(order):
        rows = order[start:start + max(1, batch_tokens // len(tokens[order[start]]))]
        start += len(rows)
        for i, h in zip(rows, encode_states(model, [tokens[i] for i in rows])):
            flat[offsets[i]:offsets[i + 1]] = h.numpy().astype(np.float16)
        bar.update(len(rows))
    bar.close()
    flat.flush()
    np.save(out / "offsets.npy", offsets)
    (out / "index.json").write_text(json.dumps({"schema": SCHEMA, "encoder": encoder, "max_tokens": MAX_TOKENS,
                                                "dim": dim, "count": len(tokens), "ids": list(ids)}))
    return out


def corpus_states(records: Sequence[dict], out: str | Path, encoder: str = ENCODER,
                  progress: bool = True) -> "StateCache":
    """The cache of `records` (corpus records), built in `out` on first use; an existing cache
    must hold every record."""
    out = Path(out)
    if not (out / "index.json").is_file():
        cache_states([r["code"] for r in records], [r["id"] for r in records], out, encoder, progress=progress)
    cache = StateCache(out)
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
        self.states = np.load(directory / "states.npy", mmap_mode="r")
        self.offsets = np.load(directory / "offsets.npy")
        self.ids: list[str] = self.meta["ids"]
        self.position = {rid: i for i, rid in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.states[self.offsets[i]:self.offsets[i + 1]]

    def of(self, record_id: str) -> np.ndarray:
        """The states of the function whose corpus record id is `record_id`."""
        return self[self.position[record_id]]
