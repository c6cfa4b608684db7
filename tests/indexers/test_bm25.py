"""BM25 over code tokens: finds the obvious unit, by prose or by code, and survives save/load."""

import numpy as np

from indexers.bm25 import BM25
from indexers.text import code_tokens

DOCS = {
    10: "def read_config_file(path):\n    with open(path) as f:\n        return json.load(f)",
    11: "def send_http_request(url, payload):\n    return HTTPClient().post(url, payload)",
    12: "def matrix_multiply(a, b):\n    return [[sum(x * y for x, y in zip(r, c)) for c in zip(*b)] for r in a]",
    13: "class LRUCache:\n    def get(self, key):\n        return self.items.pop(key)",
}


def _index() -> BM25:
    return BM25.build([code_tokens(t) for t in DOCS.values()], np.array(list(DOCS)))


def test_natural_language_query_finds_the_matching_unit():
    ids, scores = _index().search(code_tokens("read the config file"), k=2)
    assert ids[0] == 10 and scores[0] > scores[1]


def test_code_snippet_query_finds_the_matching_unit():
    ids, _ = _index().search(code_tokens("client = HTTPClient(); client.post(url)"), k=1)
    assert ids.tolist() == [11]


def test_unknown_words_score_zero_everywhere():
    assert not _index().scores(code_tokens("zebra giraffe")).any()


def test_k_larger_than_the_corpus_returns_every_document_best_first():
    ids, scores = _index().search(code_tokens("matrix multiply"), k=50)
    assert sorted(ids.tolist()) == sorted(DOCS) and ids[0] == 12
    assert np.all(np.diff(scores) <= 0)


def test_save_and_load_round_trip(tmp_path):
    index = _index()
    index.save(tmp_path / "bm25")
    loaded = BM25.load(tmp_path / "bm25")
    query = code_tokens("cache get key")
    assert loaded.ids.tolist() == index.ids.tolist()
    np.testing.assert_allclose(loaded.scores(query), index.scores(query))
    assert loaded.search(query, k=1)[0].tolist() == [13]


def test_empty_documents_and_empty_corpus_do_not_break():
    index = BM25.build([[], code_tokens("parse json")], np.array([1, 2]))
    assert index.search(code_tokens("json"), k=1)[0].tolist() == [2]
    empty = BM25.build([], np.array([], dtype=np.int64))
    assert empty.search(["json"], k=3)[0].tolist() == []


def test_scores_are_bm25s_own_and_a_search_loads_neither_bm25s_nor_scipy(tmp_path):
    import subprocess
    import sys

    index = _index()
    for query in ("read the config file", "matrix multiply zip", "cache get key get"):
        tokens = [t for t in code_tokens(query) if t in index.retriever.vocab_dict]
        assert np.array_equal(index.scores(tokens), index.retriever.get_scores(tokens))  # bit for bit
    index.save(tmp_path / "bm25")
    script = ("import sys; from pathlib import Path; from indexers.bm25 import BM25; "
              f"print(BM25.load(Path({str(tmp_path / 'bm25')!r})).search(['cache'], 1)[0].tolist(), "
              "[m for m in ('bm25s', 'scipy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[13]", "[]"]
