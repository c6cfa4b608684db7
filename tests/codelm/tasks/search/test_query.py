"""One search call for every face: with checks it verifies, without it only searches."""

from __future__ import annotations

from codelm.tasks.search.query import search


class FakeSearcher:
    meta = {"roots": []}

    def __init__(self) -> None:
        self.calls = []

    def search(self, query, k=10, language=None, path_glob=None, tests="rank"):
        self.calls.append((query, k, language, path_glob, tests))
        return [{"name": "f", "score": 1.0}]


def test_search_without_checks_passes_the_filters_through():
    searcher = FakeSearcher()
    found = search(searcher, "q", 3, "python", "src/*")
    assert found == {"query": "q", "results": [{"name": "f", "score": 1.0}]}
    search(searcher, "q", 3, tests="only")
    assert searcher.calls == [("q", 3, "python", "src/*", "rank"), ("q", 3, None, None, "only")]


def test_search_with_checks_goes_through_verification(monkeypatch):
    import codelm.tasks.search.verified as verified

    seen = {}

    def fake(searcher, query, checks, k, candidates, budget, language, path_glob, tests):
        seen.update(checks=checks, k=k, candidates=candidates, budget=budget)
        return {"query": query, "results": [], "unchecked": []}

    monkeypatch.setattr(verified, "verified_search", fake)
    found = search(FakeSearcher(), "q", 2, checks=("f(1) == 2",), candidates=7, budget=3.0)
    assert found["unchecked"] == [] and seen == {"checks": ["f(1) == 2"], "k": 2, "candidates": 7, "budget": 3.0}
