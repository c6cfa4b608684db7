"""Fusion of a pool's dense and BM25 scores: properties over random pools."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexers.fusion import DENSE_WEIGHT, fuse

N = st.integers(2, 30)


def pools(n):
    dense = st.lists(st.integers(-100, 100), min_size=n, max_size=n).map(lambda v: np.array(v) / 100)
    bm25 = st.lists(st.integers(0, 400), min_size=n, max_size=n).map(lambda v: np.array(v) / 10)
    return st.tuples(dense, bm25)


def order(scores):
    return np.argsort(-scores, kind="stable")


def same_ranking(a, b):
    """Rankings agree where the scores are not tied."""
    return all(a[i] > a[j] for i in range(len(a)) for j in range(len(a)) if b[i] > b[j])


@settings(max_examples=30, deadline=None)
@given(N.flatmap(pools))
def test_weight_one_is_dense_alone_and_weight_zero_bm25_alone(pool):
    dense, bm25 = pool
    assert same_ranking(fuse(dense, bm25, 1.0), dense)
    assert same_ranking(fuse(dense, bm25, 0.0), bm25)


@settings(max_examples=30, deadline=None)
@given(N.flatmap(pools), st.data())
def test_fused_score_is_monotone_in_each_list(pool, data):
    dense, bm25 = pool
    i = data.draw(st.integers(0, len(dense) - 1))
    before = fuse(dense, bm25)
    up_dense, up_bm25 = dense.copy(), bm25.copy()
    up_dense[i] = min(dense[i] + 0.3, 1.0)
    up_bm25[i] = bm25[i] + 5.0
    for after in (fuse(up_dense, bm25), fuse(dense, up_bm25)):
        rank_before = int(np.where(order(before) == i)[0][0])
        rank_after = int(np.where(order(after) == i)[0][0])
        assert rank_after <= rank_before


@settings(max_examples=30, deadline=None)
@given(N.flatmap(pools))
def test_a_unit_top_in_both_lists_stays_top(pool):
    dense, bm25 = pool
    dense[0], bm25[0] = dense.max() + 0.1, bm25.max() + 1.0
    assert order(fuse(dense, bm25))[0] == 0


def test_lexical_evidence_breaks_a_near_tie_in_dense_scores():
    dense = np.array([0.50, 0.49, 0.20], dtype=np.float32)
    bm25 = np.array([0.0, 12.0, 3.0], dtype=np.float32)
    assert order(fuse(dense, bm25)).tolist()[0] == 1


def test_dense_is_favoured_by_default_and_pools_without_bm25_matches_keep_dense_order():
    assert 0.5 < DENSE_WEIGHT < 1.0
    dense = np.array([0.1, 0.7, 0.4])
    assert order(fuse(dense, np.zeros(3, dtype=np.float32))).tolist() == [1, 2, 0]


def test_empty_pool():
    assert fuse(np.zeros(0, np.float32), np.zeros(0, np.float32)).shape == (0,)
