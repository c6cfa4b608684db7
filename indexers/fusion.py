"""Fusing dense and BM25 scores of one query's candidate pool.

Plain reciprocal-rank fusion throws the score gaps away and was measured below dense search
alone; here each list is scaled per query (cosine as is, BM25 divided by the pool's best BM25
score, so both lie in [0, 1] for relevant candidates) and combined convexly with a weight
favouring dense. DENSE_WEIGHT is chosen on the tuning split of benchmarks/search_quality.py.
"""

from __future__ import annotations

import numpy as np

DENSE_WEIGHT = 0.8


def fuse(dense: np.ndarray, bm25: np.ndarray, weight: float | None = None) -> np.ndarray:
    """Fused scores of a pool: weight * dense + (1 - weight) * bm25 / max(bm25)."""
    w = DENSE_WEIGHT if weight is None else weight
    top = float(bm25.max()) if len(bm25) else 0.0
    lexical = bm25 / top if top > 0 else np.zeros_like(bm25)
    return (w * dense + (1.0 - w) * lexical).astype(np.float32)
