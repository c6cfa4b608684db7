"""The search re-ranker on ONNX Runtime: it re-scores the top candidates of the hybrid search
(`Searcher.search`), reading each (query, candidate) pair.

A re-ranker is used with `--reranker DIR`; one shipped as "minilm-rerank" (codelm/data/minilm_rerank)
would be used by default. None ships: neither kind gained on the held-out packages
(docs/training.md). Two kinds, told apart by the directory's config.json:
- `QueryLikelihood`: a docstring decoder (`codelm train docstring`) scores how likely the
  query is as the summary of each candidate's code, read through the encoder it was trained
  on (exported by codelm/tasks/search/likelihood.py);
- `Reranker`: a cross-encoder from `codelm train rerank` (MiniLM cut to its first three
  blocks), exported once per weights like the encoder (codelm/core/rerank_export.py, cached by
  indexers/onnx_cache.py); pairs are tokenized with the model's own `tokenizer.json`, cut to
  MAX_TOKENS, the longer side first.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from codelm.core import LIKELIHOOD_GRAPH, RERANK_MODEL, RERANKER_ARCH
from indexers.text import embedded_text

MAX_TOKENS = 128  # as the recipe trains it
CANDIDATES = 20  # of the hybrid search, re-scored per query
# the re-ranker's share of a candidate's final score (the fused score the rest): best of 1, 0.5
# and 0.3 on the tune split for the re-ranker trained here (its score alone ranked far worse)
RERANK_WEIGHT = 0.3


class Reranker:
    """Scores (query, text) pairs with a cross-encoder checkpoint exported to ONNX Runtime."""

    text = staticmethod(embedded_text)  # what it reads of a unit: what the index embeds

    def __init__(self, model: str = RERANK_MODEL, max_tokens: int = MAX_TOKENS, threads: int | None = None) -> None:
        from codelm.core import resolve_model_dir
        from indexers.embed import exported_graph, model_tokenizer, weights_fingerprint

        self.model_dir = resolve_model_dir(model)
        self.tokenizer = model_tokenizer(self.model_dir, max_tokens, "a re-ranker")
        self.path, record = exported_graph(self.model_dir, weights_fingerprint(self.model_dir), kind="reranker")
        self.quantization, self.pad_id = record["kept"], record["pad_id"]
        self.weight = RERANK_WEIGHT
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


class QueryLikelihood:
    """Scores (query, code) pairs by a docstring decoder's log-likelihood of the query as the
    code's summary (codelm/tasks/search/likelihood.py): the candidates' token states come from
    the encoder the decoder was trained on, on ONNX Runtime like the decoder."""

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        from codelm.core.tokenizer import CodeTokenizer, default_tokenizer
        from indexers.embed import load_encoder, model_tokenizer

        self.model_dir = model_dir
        self.config = json.loads((model_dir / "config.json").read_text())
        self.encoder = load_encoder(self.config["encoder"])
        self.source = model_tokenizer(self.encoder.model_dir, self.config["max_source"], "a re-ranker")
        own = model_dir / "tokenizer.json"
        self.tokenizer = CodeTokenizer.load(model_dir) if own.is_file() else default_tokenizer()
        self.quantization = self.config["kept"]
        self.weight = float(self.config.get("weight", RERANK_WEIGHT))  # its share, tuned with it
        self.threads = threads or os.cpu_count() or 1
        self._session = None
        self._opening = threading.Lock()

    @staticmethod
    def text(name: str, kind: str, path: str, signature: str, body: str, docstring: str = "") -> str:
        """What it reads of a unit: its code, as the docstring model was trained on it."""
        return f"{signature}\n{body}" if body else signature

    def session(self):
        from codelm.core.export import open_session

        with self._opening:
            if self._session is None:
                self._session = open_session(self.model_dir / LIKELIHOOD_GRAPH, self.threads)
            return self._session

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """log P(query | code) of each code (higher: more relevant), in the order given."""
        from codelm.core.rerank_export import pair_batch

        if not texts:
            return np.zeros(0, dtype=np.float32)
        codes = pair_batch(self.source.encode_batch(list(texts)), self.encoder.pad_id)
        mask = codes["attention_mask"]
        states = self.encoder.session(self.threads).run(None, {"input_ids": codes["input_ids"],
                                                               "attention_mask": mask})[0]
        c = self.config
        target = self.tokenizer.encode_batch([query])[0][:c["max_target"] - 1]
        rows = len(texts), 1
        feeds = {"states": states.astype(np.float32), "states_mask": mask,
                 "input_ids": np.tile(np.asarray([c["bos_token_id"], *target], dtype=np.int64), rows),
                 "targets": np.tile(np.asarray([*target, c["eos_token_id"]], dtype=np.int64), rows)}
        return self.session().run(None, feeds)[0].sum(1).astype(np.float32)


def rescore(query: str, texts: Sequence[str], fused: np.ndarray, weight: float | None = None,
            model: str = RERANK_MODEL) -> np.ndarray:
    """Final scores of the top candidates: weight * minmax(re-ranker score) + (1 - weight) *
    minmax(fused score), both over these candidates; weight None: the re-ranker's own (a
    query-likelihood config's "weight"; RERANK_WEIGHT for a cross-encoder)."""
    from indexers.fusion import minmax

    reranker = load_reranker(model)
    w = reranker.weight if weight is None else float(weight)
    scores = reranker.score(query, texts)
    return (w * minmax(scores) + (1.0 - w) * minmax(fused)).astype(np.float32)


_LOADED: dict[str, Reranker | QueryLikelihood] = {}
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def available(model: str = RERANK_MODEL) -> bool:
    """Whether the re-ranker's weights are there (the shipped one is, in an installed codelm)."""
    from codelm.core import resolve_model_dir
    from codelm.errors import CodelmError

    try:
        folder = resolve_model_dir(model)
    except CodelmError:
        return False
    return (folder / "tokenizer.json").is_file() or (folder / LIKELIHOOD_GRAPH).is_file()


def load_reranker(model: str = RERANK_MODEL) -> Reranker | QueryLikelihood:
    """The re-ranker in `model` (a name or directory), of the kind its config.json names,
    loaded once per process."""
    from codelm.core import resolve_model_dir

    with _LOCK:
        if model not in _LOADED:
            model_dir = resolve_model_dir(model)
            config = model_dir / "config.json"
            kind = json.loads(config.read_text()).get("architecture") if config.is_file() else None
            _LOADED[model] = QueryLikelihood(model_dir) if kind == RERANKER_ARCH else Reranker(model)
        return _LOADED[model]
