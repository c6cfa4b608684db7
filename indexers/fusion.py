"""Fusing the dense and the BM25 scores of one query's candidate pool.

Each list is min-max scaled over the pool (the union of both lists' top candidates), so
that both lie in [0, 1] whatever the query, and the two are combined convexly with a weight
favouring dense. Min-max keeps the fused ranking monotone in each list (a unit that scores
higher in one list, the other unchanged, never ranks lower), which z-scores do not (a
growing outlier inflates the deviation). Chosen on the tune split of
benchmarks/search_quality.py (500 queries, MRR@10; dense alone 0.591, BM25 alone 0.485):

    min-max both, w=0.85                 0.626
    z-score both, w=0.85                 0.632   (not monotone)
    cosine + BM25 / max BM25, w=0.90     0.627   (0.616 at 0.80, 0.618 at 0.95: a narrow peak)
    reciprocal-rank fusion, best k and w 0.606   (k in 10, 30, 60; w in 0.5-0.8)

That was with the stock MiniLM. Re-tuned for the shipped minilm-code (min-max both, tune
split, `--dense-weights`; dense alone 0.651): w=0.75 0.667, 0.80 0.670, 0.85 0.664, 0.90
0.665; on the test split 0.80 gave 0.638 against 0.634 at 0.85. Re-tuned again when the
query tower was trained further on a larger corpus, whose dense search is stronger (dense
alone 0.685): w=0.75 0.693, 0.80 0.700, 0.85 0.701, 0.90 0.702, 0.95 0.696 (the tower
before it: 0.80 0.699, 0.85 0.697, 0.90 0.688); on the test split 0.90 gave 0.657 against
0.651 at 0.80. Re-tuned when texts were cut to 128 tokens instead of 256 (`indexers.embed`;
dense alone 0.710): w=0.80 0.721, 0.85 0.724, 0.90 0.718, 0.95 0.713.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DENSE_WEIGHT = 0.85
POOL = 100  # candidates taken from each of the dense and the BM25 ranking


def candidate_pool(dense_ranked: Sequence[int], lexical_ranked: Sequence[int], size: int = POOL) -> list[int]:
    """The candidates fusion scores: the first `size` of the dense ranking, then those of the
    BM25 ranking (units that match the query at all) not already in, in that order."""
    return list(dict.fromkeys([*dense_ranked[:size], *lexical_ranked[:size]]))


def minmax(scores: np.ndarray) -> np.ndarray:
    """Scores scaled to [0, 1] over the pool; all zeros when they do not vary."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return scores
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def fuse(dense: np.ndarray, bm25: np.ndarray, weight: float | None = None) -> np.ndarray:
    """Fused scores of a pool: weight * minmax(dense) + (1 - weight) * minmax(bm25).

    `dense` are cosines and `bm25` BM25 scores of the same candidates; higher is better;
    weight 1 ranks by dense alone, 0 by BM25 alone, None takes DENSE_WEIGHT.
    """
    w = DENSE_WEIGHT if weight is None else float(weight)
    return (w * minmax(dense) + (1.0 - w) * minmax(bm25)).astype(np.float32)
