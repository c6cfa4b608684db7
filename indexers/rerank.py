"""The search re-ranker on ONNX Runtime: a cross-encoder that reads each (query, candidate)
pair and scores it, for the top candidates of the hybrid search (`Searcher.search`).

A re-ranker is trained by `codelm train rerank` (MiniLM cut to its first three blocks) and used
with `--reranker DIR`; one shipped as "minilm-rerank" (a delta in codelm/data/minilm_rerank)
would be used by default. None ships: the one trained here did not gain (docs/training.md).
It is exported once per weights like the encoder (codelm/core/rerank_export.py, cached by
indexers/onnx_cache.py); pairs are tokenized with the model's own `tokenizer.json`, cut to
MAX_TOKENS, the longer side first.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Sequence

import numpy as np

from codelm.core import RERANK_MODEL

MAX_TOKENS = 128  # as the recipe trains it
CANDIDATES = 20  # of the hybrid search, re-scored per query
# the re-ranker's share of a candidate's final score (the fused score the rest): best of 1, 0.5
# and 0.3 on the tune split for the re-ranker trained here (its score alone ranked far worse)
RERANK_WEIGHT = 0.3


class Reranker:
    """Scores (query, text) pairs with a re-ranker checkpoint exported to ONNX Runtime."""

    def __init__(self, model: str = RERANK_MODEL, max_tokens: int = MAX_TOKENS, threads: int | None = None) -> None:
        from codelm.core import resolve_model_dir
        from indexers.embed import exported_graph, model_tokenizer, weights_fingerprint

        self.model_dir = resolve_model_dir(model)
        self.tokenizer = model_tokenizer(self.model_dir, max_tokens, "a re-ranker")
        self.path, record = exported_graph(self.model_dir, weights_fingerprint(self.model_dir), kind="reranker")
        self.quantization, self.pad_id = record["kept"], record["pad_id"]
        self.threads = threads or os.cpu_count() or 1
        self._session = None
        self._opening = threading.Lock()

    def session(self):
        from codelm.core.export import open_session

        with self._opening:
            if self._session is None:
                self._session = open_session(self.path, self.threads, optimized=True)
            return self._session

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """One float32 score per text (higher: more relevant), in the order given."""
        from codelm.core.rerank_export import pair_batch

        if not texts:
            return np.zeros(0, dtype=np.float32)
        encodings = self.tokenizer.encode_batch([(query, t) for t in texts])
        return self.session().run(None, pair_batch(encodings, self.pad_id))[0].reshape(-1).astype(np.float32)


def rescore(query: str, texts: Sequence[str], fused: np.ndarray, weight: float | None = None,
            model: str = RERANK_MODEL) -> np.ndarray:
    """Final scores of the top candidates: weight * minmax(re-ranker score) + (1 - weight) *
    minmax(fused score), both over these candidates."""
    from indexers.fusion import minmax

    w = RERANK_WEIGHT if weight is None else float(weight)
    scores = load_reranker(model).score(query, texts)
    return (w * minmax(scores) + (1.0 - w) * minmax(fused)).astype(np.float32)


_LOADED: dict[str, Reranker] = {}
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def available(model: str = RERANK_MODEL) -> bool:
    """Whether the re-ranker's weights are there (the shipped one is, in an installed codelm)."""
    from codelm.core import resolve_model_dir
    from codelm.errors import CodelmError

    try:
        return (resolve_model_dir(model) / "tokenizer.json").is_file()
    except CodelmError:
        return False


def load_reranker(model: str = RERANK_MODEL) -> Reranker:
    """The Reranker for `model`, loaded once per process."""
    with _LOCK:
        if model not in _LOADED:
            _LOADED[model] = Reranker(model)
        return _LOADED[model]
