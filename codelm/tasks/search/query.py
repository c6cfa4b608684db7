"""One search as every face answers it (the CLI, the server, MCP): with checks or without."""

from __future__ import annotations

from typing import Any, Sequence


def search(searcher: Any, query: str, k: int = 10, language: str | None = None, path_glob: str | None = None,
           checks: Sequence[str] = (), candidates: int = 20, budget: float = 20.0, tests: str = "rank") -> dict:
    """`{"query", "results"}` from any searcher (a Searcher, a LiveSearcher, the server's pool);
    with `checks`, the results verified in the sandbox (`verified.verified_search`), which adds
    "unchecked". `tests`: rank (tests, examples, docs below the library), equal or only."""
    if checks:
        from codelm.tasks.search.verified import verified_search

        return verified_search(searcher, query, list(checks), k, candidates, budget, language, path_glob, tests)
    return {"query": query, "results": searcher.search(query, k, language, path_glob, tests=tests)}
