"""Code search quality of several encoders side by side: BM25, dense, hybrid.

An evaluation set is (queries, candidate texts, the index of each query's one answer). Every
system ranks all candidates for every query: BM25 over `indexers.text.code_tokens`, dense
by cosine of `indexers.embed.Encoder` vectors, hybrid by `indexers.fusion.fuse` over the
pool of both lists' top candidates (`indexers.fusion.candidate_pool`), as `indexers.search.Searcher` does. Metrics
(one relevant candidate per query, rank counted from 1): MRR@k, recall@1/5/10 and NDCG@10
(1 / log2(rank + 1) when rank <= 10: the ideal DCG is 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass
class EvalSet:
    """Queries, the candidate texts they are searched in, and each query's answer index."""

    queries: list[str]
    texts: list[str]
    answers: list[int]


def ranking_metrics(ranks: Sequence[int | None], k: int = 10) -> dict[str, float]:
    """MRR@k, recall@1/5/10 and NDCG@10 of the answers' 1-based ranks (None: not found)."""
    n = max(len(ranks), 1)
    found = [r for r in ranks if r is not None]

    def share(cut: int) -> float:
        return sum(r <= cut for r in found) / n

    return {f"mrr@{k}": round(sum(1.0 / r for r in found if r <= k) / n, 4),
            "recall@1": round(share(1), 4), "recall@5": round(share(5), 4), "recall@10": round(share(10), 4),
            "ndcg@10": round(sum(1.0 / math.log2(r + 1) for r in found if r <= 10) / n, 4)}


def rank_of(scores: np.ndarray, answer: int) -> int:
    """1-based rank of `answer` when candidates are sorted by score (ties counted against it)."""
    return int((scores > scores[answer]).sum() + (scores[:answer] == scores[answer]).sum()) + 1


def corpus_eval_set(data: str | Path, split: str = "valid") -> EvalSet:
    """Queries = the split's docstring summaries; candidates = all its functions' code texts."""
    from indexers.text import record_text
    from indexers.corpus import read_corpus

    records = read_corpus(data, split)
    return EvalSet([r["nl"] for r in records if r["nl"]], [record_text(r) for r in records],
                   [i for i, r in enumerate(records) if r["nl"]])


def bm25_scores(eval_set: EvalSet) -> np.ndarray:
    """(queries, candidates) BM25 scores."""
    from indexers.bm25 import BM25
    from indexers.text import code_tokens

    index = BM25.build([code_tokens(t) for t in eval_set.texts], np.arange(len(eval_set.texts)))
    return np.stack([index.scores(code_tokens(q)) for q in eval_set.queries]) if eval_set.queries \
        else np.zeros((0, len(eval_set.texts)), dtype=np.float32)


def dense_scores(eval_set: EvalSet, model: str) -> np.ndarray:
    """(queries, candidates) cosines under the encoder `model` ("minilm" or a directory)."""
    from indexers.embed import Encoder

    encoder = Encoder(model)
    return encoder.queries().encode(eval_set.queries) @ encoder.encode(eval_set.texts).T


def hybrid_scores(dense: np.ndarray, bm25: np.ndarray, weight: float | None = None) -> np.ndarray:
    """Fused scores inside each query's candidate pool, as the Searcher fuses; -inf outside it."""
    from indexers.fusion import POOL, candidate_pool, fuse

    out = np.full(dense.shape, -np.inf, dtype=np.float32)
    for i in range(dense.shape[0]):
        top_dense = np.argsort(-dense[i], kind="stable")[:POOL].tolist()
        top_bm25 = [int(j) for j in np.argsort(-bm25[i], kind="stable")[:POOL] if bm25[i, j] > 0]
        pool = np.array(candidate_pool(top_dense, top_bm25))
        out[i, pool] = fuse(dense[i, pool], bm25[i, pool], weight)
    return out


def evaluate_search(eval_set: EvalSet, models: dict[str, str], k: int = 10) -> dict[str, dict[str, float]]:
    """Metrics of bm25 and, per labelled model, `dense:LABEL` and `hybrid:LABEL`."""
    return evaluate_scores(eval_set, {label: dense_scores(eval_set, model) for label, model in models.items()}, k)


def evaluate_scores(eval_set: EvalSet, dense: dict[str, np.ndarray], k: int = 10) -> dict[str, dict[str, float]]:
    """Like `evaluate_search`, given each labelled system's (queries, candidates) dense scores."""
    def metrics(scores: np.ndarray) -> dict[str, float]:
        ranks = [rank_of(scores[i], a) for i, a in enumerate(eval_set.answers)]
        return ranking_metrics([r if r <= max(k, 10) else None for r in ranks], k)

    lexical = bm25_scores(eval_set)
    out = {"bm25": metrics(lexical)}
    for label, scores in dense.items():
        out[f"dense:{label}"] = metrics(scores)
        out[f"hybrid:{label}"] = metrics(hybrid_scores(scores, lexical))
    return out
