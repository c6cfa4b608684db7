"""Hard negatives for search training: for each summary, the other training codes that BM25
and (given a model) the dense encoder rank highest for it, as the hybrid search will.

Mining is done once per training set by the objectives' `fit` (contrastive with
hard_negatives, rerank) and may be cached in a `.npy` file next to the run: the rows are the
records in training order, each holding up to `k` indices into the same list (-1 where none).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from indexers.text import code_tokens

CHUNK = 1024  # queries scored against all codes at once in the dense pass


def _bm25_top(queries: Sequence[str], texts: Sequence[str], k: int) -> np.ndarray:
    from indexers.bm25 import BM25

    index = BM25.build([code_tokens(t) for t in texts], np.arange(len(texts)))
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for i, q in enumerate(queries):
        ids, _ = index.search(code_tokens(q), k)
        out[i, :len(ids)] = ids
    return out


def _dense_top(queries: Sequence[str], texts: Sequence[str], k: int, model: str) -> np.ndarray:
    from indexers.embed import load_encoder

    from tqdm import tqdm

    encoder = load_encoder(model)
    with tqdm(total=len(texts) + len(queries), desc=f"mining negatives with {model}", unit="text",
              file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        codes = encoder.encode(list(texts), progress=bar.update)
        asked = encoder.queries().encode(list(queries), progress=bar.update)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), CHUNK):
        scores = asked[start:start + CHUNK] @ codes.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start:start + CHUNK] = np.take_along_axis(top, order, axis=1)
    return out


def mine_negatives(queries: Sequence[str], texts: Sequence[str], k: int = 8, model: str | None = None,
                   cache: str | Path | None = None) -> np.ndarray:
    """(len(queries), k) indices of hard negatives for query i, whose positive is texts[i]: BM25's
    and the dense model's top candidates interleaved (BM25 alone without a model), skipping the
    positive, any text equal to it and any whose query (summary) is the same; -1 pads a short
    row. Read from / written to `cache`."""
    if cache is not None and Path(cache).is_file():
        cached = np.load(cache)
        if cached.shape == (len(queries), k):
            return _drop_same_summary(cached, queries)
    ranked = [_bm25_top(queries, texts, k + 1)]
    if model:
        ranked.append(_dense_top(queries, texts, k + 1, model))
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for i in range(len(queries)):
        chosen: list[int] = []
        for rank in range(k + 1):
            for source in ranked:
                j = int(source[i, rank])
                if j >= 0 and j != i and j not in chosen and texts[j] != texts[i]:
                    chosen.append(j)
        out[i, :min(k, len(chosen))] = chosen[:k]
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        with open(f"{cache}.tmp", "wb") as fh:  # whole or not at all
            np.save(fh, out)
        Path(f"{cache}.tmp").replace(cache)
    return _drop_same_summary(out, queries)


def _drop_same_summary(mined: np.ndarray, queries: Sequence[str]) -> np.ndarray:
    """`mined` without the candidates whose own summary is the query's: a vendored copy of the
    function (setuptools/_distutils beside distutils) or an overload documented alike is not a
    negative. Rows stay left-aligned, padded with -1."""
    out = np.full_like(mined, -1)
    for i, row in enumerate(mined):
        kept = [int(j) for j in row if j >= 0 and queries[j] != queries[i]]
        out[i, :len(kept)] = kept
    return out
