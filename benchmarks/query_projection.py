"""A query-side linear projection over stock MiniLM, learned contrastively on CPU.

Code vectors stay those of stock MiniLM (an index needs no re-embedding); only queries are
mapped: q' = normalize(q W), W (384 x 384) starting at the identity, trained with in-batch
InfoNCE (temperature 0.05) against the code vectors of N sampled training pairs of a
`codelm corpus` directory (the stdlib), then scored on the held-out split of
benchmarks/search_quality.py next to stock MiniLM and BM25 (same queries, same vectors).
Fixed settings, no tuning on the held-out split.

    python benchmarks/query_projection.py --data CORPUS [--pairs 1500] [--small] [--save W.npy]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.encoder_quality import held_out_set  # noqa: E402


def fit_projection(q: np.ndarray, c: np.ndarray, temperature: float = 0.05, steps: int = 300,
                   lr: float = 1e-3, batch: int = 256, tie: float = 1e-2, seed: int = 0) -> np.ndarray:
    """W minimising InfoNCE(normalize(q W), c) + tie * |W - I|^2 over random batches."""
    import torch

    g = torch.Generator().manual_seed(seed)
    qt, ct = torch.from_numpy(q), torch.from_numpy(c)
    w = torch.eye(q.shape[1], requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        rows = torch.randperm(len(qt), generator=g)[:batch]
        qp = torch.nn.functional.normalize(qt[rows] @ w, dim=-1)
        logits = qp @ ct[rows].T / temperature
        loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(rows)))
        loss = loss + tie * ((w - torch.eye(w.shape[0])) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().numpy()


def project(q: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = q @ w
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def main() -> None:
    from indexers.text import record_text
    from codelm.tasks.search.evaluate import evaluate_scores
    from indexers.corpus import read_corpus
    from indexers.embed import Encoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="training corpus directory (codelm corpus)")
    parser.add_argument("--pairs", type=int, default=1500, help="training pairs sampled")
    parser.add_argument("--small", action="store_true", help="held-out: 600 units, 100 queries")
    parser.add_argument("--save", type=Path, help="write W here (.npy)")
    args = parser.parse_args()
    started = time.perf_counter()
    encoder = Encoder("minilm")
    pairs = [r for r in read_corpus(args.data, "train") if r["nl"]]
    pairs = random.Random(0).sample(pairs, min(args.pairs, len(pairs)))
    q_train = encoder.encode([r["nl"] for r in pairs])
    c_train = encoder.encode([record_text(r) for r in pairs])
    embed_s = time.perf_counter() - started
    w = fit_projection(q_train, c_train)
    if args.save:
        np.save(args.save, w.astype(np.float32))
    eval_set = held_out_set("test", args.small)
    q, c = encoder.encode(eval_set.queries), encoder.encode(eval_set.texts)
    table = evaluate_scores(eval_set, {"minilm": q @ c.T, "minilm+qproj": project(q, w) @ c.T})
    print(json.dumps({"train_pairs": len(pairs), "queries": len(eval_set.queries), "candidates": len(eval_set.texts),
                      "small": args.small, "systems": table,
                      "mrr_gain": round(table["dense:minilm+qproj"]["mrr@10"] - table["dense:minilm"]["mrr@10"], 4),
                      "train_embed_seconds": round(embed_s, 1), "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
