"""Search metrics against hand-computed values; the systems on a tiny evaluation set."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codelm.tasks.search.evaluate import EvalSet, evaluate_search, hybrid_scores, rank_of, ranking_metrics


def test_metrics_match_hand_computation() -> None:
    # ranks 1, 3, 7, 12 (beyond 10), not found
    m = ranking_metrics([1, 3, 7, 12, None], k=10)
    assert m["mrr@10"] == pytest.approx(round((1 + 1 / 3 + 1 / 7) / 5, 4))
    assert m["recall@1"] == 0.2 and m["recall@5"] == 0.4 and m["recall@10"] == 0.6
    ndcg = (1 / math.log2(2) + 1 / math.log2(4) + 1 / math.log2(8)) / 5  # 1 + 0.5 + 1/3
    assert m["ndcg@10"] == pytest.approx(round(ndcg, 4))


def test_mrr_cut_off_follows_k() -> None:
    assert ranking_metrics([4], k=3)["mrr@3"] == 0.0
    assert ranking_metrics([4], k=5)["mrr@5"] == 0.25


def test_rank_counts_ties_against_the_answer() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.1])
    assert rank_of(scores, 1) == 1
    assert rank_of(scores, 0) == 2
    assert rank_of(scores, 2) == 3  # tied with candidate 0, which comes first
    assert rank_of(scores, 3) == 4


def test_hybrid_scores_only_the_pool_and_follows_both_lists() -> None:
    dense = np.array([[0.9, 0.8, 0.1]], dtype=np.float32)
    bm25 = np.array([[0.0, 5.0, 0.0]], dtype=np.float32)
    fused = hybrid_scores(dense, bm25, weight=0.5)
    assert fused[0].argmax() == 1  # second in dense, first in BM25: best on the whole
    assert np.isfinite(fused).all()  # 3 candidates: all inside the pool


def test_bm25_finds_exact_word_matches() -> None:
    texts = ["parse json document (function in a.py)\ndef parse_json(text): ...",
             "send email message (function in b.py)\ndef send_email(to): ...",
             "resize image file (function in c.py)\ndef resize_image(img): ..."]
    eval_set = EvalSet(["send an email", "resize an image"], texts, [1, 2])
    table = evaluate_search(eval_set, models={})
    assert table["bm25"]["mrr@10"] == 1.0 and table["bm25"]["recall@1"] == 1.0
