"""Sentence embeddings on ONNX Runtime. The default, "minilm-code", is the embedded
all-MiniLM-L6-v2 with its top three blocks fine-tuned for code search (`codelm train search`,
shipped as a half-precision delta in codelm/data/minilm_code); "minilm" is the stock model.

A checkpoint is exported to ONNX once per weights (codelm/core/export.py, cached by
indexers/onnx_cache.py; only that export imports torch). Texts are tokenized with the model's
own `tokenizer.json` (truncated to MAX_TOKENS, below), sorted by length so that batches carry
little padding and cut by a token budget rather than a number of texts, mean pooled and L2
normalised exactly as sentence-transformers does, and returned in input order as float32.
With `int8=True` (the default) the graph the export kept runs: int8 where it held cosine 0.99
to fp32 on the probe set, else fp32.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from codelm.core import SEARCH_MODEL, export

DEFAULT_MODEL = SEARCH_MODEL  # MiniLM with its top blocks fine-tuned for code search (codelm/data/minilm_code)
# Texts are cut to 128 tokens: the length all-MiniLM-L6-v2 was trained at, and the code and
# query towers too (sentence-transformers' configuration of MiniLM says 256). Measured on
# benchmarks/search_quality.py, tune split, MRR@10 dense / hybrid at 0.9 dense: minilm-code
# 96 tokens 0.703 / 0.710, 128 0.710 / 0.718, 192 0.700 / 0.711, 256 0.696 / 0.708; stock
# MiniLM 128 0.597 / 0.624, 256 0.565 / 0.598. Indexing takes about two thirds of the time.
MAX_TOKENS = 128
BATCH_TOKENS = export.BATCH_TOKENS  # as the export's probe check batches
INT8 = True  # run the int8 graph where the export kept one (codelm/core/export.py)
RUNTIME = "onnxruntime"  # recorded in an index's meta with the quantisation of its vectors
ONE_THREAD_UP_TO = 32  # texts: a query or a saved file runs on one thread (see encode)


class Encoder:
    """Embeds texts with a BERT/RoBERTa checkpoint exported to ONNX Runtime."""

    def __init__(self, model: str = DEFAULT_MODEL, max_tokens: int = MAX_TOKENS, int8: bool = INT8,
                 threads: int | None = None) -> None:
        from codelm.core import resolve_model_dir

        self.name = model
        self.model_dir = resolve_model_dir(model)
        if not (self.model_dir / "tokenizer.json").is_file():
            model_tokenizer(self.model_dir, max_tokens, "an encoder")  # its error, now rather than at first use
        self.fingerprint = weights_fingerprint(self.model_dir)  # the weights; runtime and quantisation apart
        self.path, record = exported_graph(self.model_dir, self.fingerprint, int8)
        self.int8 = int8 and record["kept"] == "int8"
        self.runtime, self.quantization = RUNTIME, "int8" if self.int8 else "fp32"
        self.pad_id, self.dim = record["pad_id"], record["dim"]
        self.optimized = bool(record.get("optimized"))
        self.threads = threads or os.cpu_count() or 1
        self._sessions: dict[int, object] = {}
        self._opening = threading.Lock()
        self.max_tokens = max_tokens
        self._settings = (int8, threads)  # what a query tower is opened with, beside max_tokens
        self._queries: Encoder | None = None

    @functools.cached_property
    def tokenizer(self) -> Any:
        """The model's tokenizer, loaded at first use (a search encodes its query with the query
        tower's: the encoder's own is never loaded)."""
        return model_tokenizer(self.model_dir, self.max_tokens, "an encoder")

    def queries(self) -> "Encoder":
        """The encoder of search queries: the model's query tower (its QUERY_TOWER folder, trained
        against this encoder's code vectors by `codelm train search --queries-only`) when it has
        one, else this encoder itself. Opened, and exported the first time, at first use."""
        from codelm.core import QUERY_TOWER

        if self._queries is None:
            tower = self.model_dir / QUERY_TOWER
            self._queries = Encoder(str(tower), self.max_tokens, *self._settings) if (tower / "config.json").is_file() else self
        return self._queries

    def session(self, threads: int):
        """The onnxruntime session on `threads` intra-op threads, opened at first use."""
        with self._opening:
            if threads not in self._sessions:
                self._sessions[threads] = export.open_session(self.path, threads, self.optimized)
            return self._sessions[threads]

    def warm(self) -> None:
        """Open the one-thread session queries use and run it once, for processes that answer
        many queries (serve, mcp): the first query pays no start-up."""
        self.queries().encode(["warm up"])

    def encode(self, texts: Sequence[str], batch_tokens: int = BATCH_TOKENS,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors; `progress(n)` is told of each batch done.
        Batches hold about `batch_tokens` tokens (padding included; at least one text). Each
        batch runs on one thread, `threads` batches at a time; a few texts (a query) are too
        little work to share: they run on one."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        workers = 1 if len(texts) <= ONE_THREAD_UP_TO else self.threads
        return export.run(self.session(1), ids, self.pad_id, batch_tokens, progress, workers)


_LOADED: dict[tuple[str, str], Encoder] = {}


def load_encoder(model: str = DEFAULT_MODEL) -> Encoder:
    """The Encoder for `model`, loaded once per process and weights: a watcher re-indexing or a
    server reloading a new generation does not open the model again."""
    from codelm.core import resolve_model_dir

    model_dir = resolve_model_dir(model)
    key = (str(model_dir), weights_fingerprint(model_dir))
    if key not in _LOADED:
        _LOADED[key] = Encoder(model)
    return _LOADED[key]


def model_tokenizer(model_dir: Path, max_tokens: int, what: str) -> Any:
    """The model's own `tokenizers.Tokenizer`, unpadded, truncating to `max_tokens` (a pair: the
    longer side first); CodelmError when the directory has none (`what` needs it)."""
    from tokenizers import Tokenizer

    from codelm.errors import CodelmError

    tokenizer_file = model_dir / "tokenizer.json"
    if not tokenizer_file.is_file():
        raise CodelmError(f"{model_dir} has no tokenizer.json: {what} needs its tokenizer")
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def exported_graph(model_dir: Path, fingerprint: str, int8: bool = True, kind: str = "encoder") -> tuple[Path, dict]:
    """(the ONNX graph to run, the export record) of the weights in `model_dir`, exported once
    (`indexers.onnx_cache`): the int8 graph when asked for and the export kept it, else fp32."""
    from indexers.onnx_cache import ensure_export

    folder, record = ensure_export(model_dir, export_key(model_dir, fingerprint), int8, kind)
    return folder / ("model.int8.onnx" if int8 and record["kept"] == "int8" else "model.onnx"), record


def weights_fingerprint(model_dir: Path) -> str:
    """Identifies the weights: config plus weight file names and sizes (and a delta's content,
    since every delta trained over the same blocks has the same size)."""
    from codelm.core import DELTA_FILE

    h = hashlib.sha1((model_dir / "config.json").read_bytes() if (model_dir / "config.json").exists() else b"")
    for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
        stat = path.stat()
        h.update(f"{path.name}:{stat.st_size}".encode())
        if path.name == DELTA_FILE:
            h.update(_content_digest(str(path), stat.st_size, stat.st_mtime_ns))
    return h.hexdigest()[:16]


def export_key(model_dir: Path, fingerprint: str) -> str:
    """The cache key of an export: the fingerprint and where and when the weights were written
    (a checkpoint retrained to the same shape keeps its fingerprint, not its export)."""
    import json

    from codelm.core import DELTA_META, resolve_model_dir

    folders = [model_dir]
    if (model_dir / DELTA_META).is_file():
        folders.append(resolve_model_dir(json.loads((model_dir / DELTA_META).read_text())["base"]))
    h = hashlib.sha1(fingerprint.encode())
    for folder in folders:
        for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
            h.update(f"{path.resolve()}:{path.stat().st_mtime_ns}".encode())
    return f"{fingerprint}-{h.hexdigest()[:8]}"


@functools.lru_cache(maxsize=8)
def _content_digest(path: str, size: int, mtime_ns: int) -> bytes:
    """SHA-1 of a file, read once per (path, size, mtime): load_encoder and Encoder both ask."""
    return hashlib.sha1(Path(path).read_bytes()).digest()
