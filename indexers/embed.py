"""Sentence embeddings with the codelm core. The default, "minilm-code", is the embedded
all-MiniLM-L6-v2 with its top three blocks fine-tuned for code search (`codelm train search`,
shipped as a half-precision delta in codelm/data/minilm_code); "minilm" is the stock model.

Texts are tokenized with the model's own `tokenizer.json` (truncated to 256 tokens as the
sentence-transformers configuration of MiniLM does), sorted by length so that batches carry
little padding (2.5x faster than file order on this machine) and cut by a token budget rather
than a number of texts, mean pooled and L2 normalised
exactly as sentence-transformers does, and returned in input order as float32. With
`int8=True` (the default) the blocks' Linear layers run on int8 kernels (codelm/core/quantize.py):
cosine to the fp32 embeddings >= 0.99, faster on CPU; `int8=False` is the exact fp32 model.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from codelm.core import SEARCH_MODEL

DEFAULT_MODEL = SEARCH_MODEL  # MiniLM with its top blocks fine-tuned for code search (codelm/data/minilm_code)
MAX_TOKENS = 256
# tokens per batch: the FFN's activations (tokens x 1536 floats) stay well under glibc's 32 MB
# mmap threshold, so they reuse heap memory instead of fresh pages each time; 8 texts of 256
# tokens, 64 of 32. On the index_speed.py corpus: 1.2-1.4x the throughput of 32 texts a batch
BATCH_TOKENS = 2048
INT8 = True  # the default: see codelm/core/quantize.py and benchmarks/index_speed.py


class Encoder:
    """Embeds texts with a BERT/RoBERTa checkpoint loaded into the codelm core."""

    def __init__(self, model: str = DEFAULT_MODEL, max_tokens: int = MAX_TOKENS, int8: bool = INT8) -> None:
        from tokenizers import Tokenizer

        from codelm.core.checkpoint import load_pretrained, resolve_model_dir
        from codelm.errors import CodelmError

        self.name = model
        self.model_dir = resolve_model_dir(model)
        tokenizer_file = self.model_dir / "tokenizer.json"
        if not tokenizer_file.is_file():
            raise CodelmError(f"{self.model_dir} has no tokenizer.json: an encoder needs its tokenizer")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self.model = load_pretrained(self.model_dir).eval()
        self.int8 = int8 and _has_fbgemm()
        if self.int8:
            from codelm.core.quantize import quantize_int8

            self.model = quantize_int8(self.model)
        self.pad_id = self.model.config.pad_token_id
        self.dim = self.model.config.hidden_size
        self.fingerprint = _fingerprint(self.model_dir) + ("-int8" if self.int8 else "")
        self._one = None  # see warm()

    def warm(self) -> None:
        """Trace the model for one text at a time (a query) with TorchScript: the same vectors bit
        for bit (tested), 1.6-1.9x faster per query (7 tokens), as Python's per-layer overhead is half of a
        short query's time. For processes that answer many queries (serve, mcp); takes ~0.15 s.
        Where tracing fails (a torch without TorchScript), queries run as before."""
        import warnings

        import torch

        if self._one is not None:
            return

        class Embed(torch.nn.Module):
            def __init__(self, model: torch.nn.Module) -> None:
                super().__init__()
                self.model = model

            def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
                return self.model.embed(ids, mask)

        ids = torch.tensor([[self.pad_id + 1] * 3])  # an unpadded row: the mask's "no padding" branch
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's notes on shapes read as Python ints
                self._one = torch.jit.freeze(torch.jit.trace(Embed(self.model), (ids, torch.ones_like(ids))).eval())
        except Exception:  # noqa: BLE001 - an optimisation only
            self._one = None

    def encode(self, texts: Sequence[str], batch_tokens: int = BATCH_TOKENS,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors; `progress(n)` is told of each batch done.
        Batches hold about `batch_tokens` tokens (padding included; at least one text)."""
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        with torch.inference_mode():
            start = 0
            while start < len(order):
                width = len(ids[order[start]])  # the longest of the batch: sorted longest first
                rows = order[start:start + max(1, batch_tokens // max(width, 1))]
                start += len(rows)
                batch = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    batch[r, :len(ids[i])] = torch.tensor(ids[i])
                    mask[r, :len(ids[i])] = 1
                embed = self.model.embed if len(rows) > 1 or self._one is None else self._one  # one row: no padding
                out[rows] = embed(batch, mask).float().numpy()
                if progress:
                    progress(len(rows))
        return out


_LOADED: dict[tuple[str, str], Encoder] = {}


def load_encoder(model: str = DEFAULT_MODEL) -> Encoder:
    """The Encoder for `model`, loaded once per process and weights: a watcher re-indexing or a
    server reloading a new generation does not pay the model load (about 1-3 s) again."""
    from codelm.core.checkpoint import resolve_model_dir

    model_dir = resolve_model_dir(model)
    key = (str(model_dir), _fingerprint(model_dir))
    if key not in _LOADED:
        _LOADED[key] = Encoder(model)
    return _LOADED[key]


def _has_fbgemm() -> bool:
    import torch

    return ("fbgemm" in torch.backends.quantized.supported_engines
            and hasattr(torch.ops.quantized, "linear_dynamic"))  # a later torch may drop them


def _fingerprint(model_dir: Path) -> str:
    """Identifies the weights: config plus weight file names and sizes (and a delta's content,
    since every delta trained over the same blocks has the same size)."""
    from codelm.core.checkpoint import DELTA_FILE

    h = hashlib.sha1((model_dir / "config.json").read_bytes() if (model_dir / "config.json").exists() else b"")
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = path.stat()
        h.update(f"{path.name}:{stat.st_size}".encode())
        if path.name == DELTA_FILE:
            h.update(_content_digest(str(path), stat.st_size, stat.st_mtime_ns))
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=8)
def _content_digest(path: str, size: int, mtime_ns: int) -> bytes:
    """SHA-1 of a file, read once per (path, size, mtime): load_encoder and Encoder both ask."""
    return hashlib.sha1(Path(path).read_bytes()).digest()
