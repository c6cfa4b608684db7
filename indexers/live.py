"""The searcher that long-running faces (the server, MCP) hold: it follows re-indexing.

`LiveSearcher(index_dir).call(fn)` runs `fn(searcher)` inside one SQLite read transaction
that starts on the newest generation, reopening the Searcher first when a re-index has
committed a new one; a re-index committing meanwhile never mixes two generations in one
answer. Calls are serialised by a lock, so one LiveSearcher may be shared by threads (the
server gives each of its threads its own, to search in parallel).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from indexers import store


class LiveSearcher:
    """A Searcher of the newest generation of an index; usable wherever a Searcher is."""

    def __init__(self, index_dir: str | Path, rerank: bool | str | None = None) -> None:
        from indexers.search import open_searcher

        self.index_dir = Path(index_dir)
        self._open = lambda: open_searcher(self.index_dir, rerank)
        self._lock = threading.RLock()
        self.searcher = self._open()

    def call(self, fn: Callable[[Any], Any]) -> Any:
        """`fn(searcher)` on a consistent snapshot of the newest generation."""
        with self._lock:
            while True:
                db = self.searcher.db
                db.execute("BEGIN")
                if store.generation(db) == self.searcher.meta.get("generation"):
                    break
                db.execute("COMMIT")
                self.searcher = self._open()
                db.close()
            try:
                return fn(self.searcher)
            finally:
                db.execute("COMMIT")

    @property
    def meta(self) -> dict:
        """The index's meta as of the last call."""
        return self.searcher.meta

    def search(self, query: str, k: int = 10, language: str | None = None, path_glob: str | None = None,
               tests: str = "rank") -> list[dict]:
        """`Searcher.search` on the newest generation."""
        return self.call(lambda s: s.search(query, k, language, path_glob, tests=tests))

    def unit(self, unit_id: int) -> dict | None:
        """`Searcher.unit` on the newest generation."""
        return self.call(lambda s: s.unit(unit_id))
