"""Hybrid search over an index: dense (FAISS) and BM25 scores fused per query."""

from __future__ import annotations

import fnmatch
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from codelm.errors import CodelmError, UsageError
from codelm.core import RERANK_MODEL
from indexers import store
from indexers.fusion import POOL, candidate_pool, fuse
from indexers.testpaths import TEST_PENALTY, check_mode, is_test_path
from indexers.rerank import CANDIDATES, load_reranker, rescore
from indexers.rerank import available as reranker_available
from indexers.text import code_tokens


class Searcher:
    """An index loaded once (model, FAISS, BM25, SQLite); `search` answers queries."""

    def __init__(self, index_dir: str | Path, rerank: bool | str | None = None) -> None:
        from indexers.embed import load_encoder

        self.index_dir = Path(index_dir)
        # the default of `search(rerank=None)`: a re-ranker's name or directory (on), False (off), or
        # None (on when the shipped re-ranker is installed)
        self.rerank = rerank
        self.reranker = rerank if isinstance(rerank, str) else RERANK_MODEL
        self.db = store.connect(self.index_dir)
        self.meta = store.searchable_meta(self.db, self.index_dir)
        folder = self.index_dir / f"gen-{self.meta['generation']}"
        try:
            self.faiss, self.bm25 = _generation(folder)
        except DamagedFile as err:  # the library's own message is its internals (C++ file and line)
            raise CodelmError(f"the index's {err.what} ({err.path}) is damaged: rebuild the index with "
                              f"`{store.rebuild_command(self.index_dir, self.meta)}`") from err
        except Exception as err:  # noqa: BLE001 - any unreadable file means a broken index
            raise store.no_index(self.index_dir, f"cannot read {folder.name}: {err}") from err
        self.test_ids = np.array([i for i, path in self.db.execute("SELECT id, path FROM units ORDER BY id")
                                  if is_test_path(path)], dtype=np.int64)  # ranked below the library
        self.encoder = load_encoder(self.meta["model"])
        # vectors of another runtime or quantisation (an index of an older codelm) still answer
        if self.encoder.fingerprint != store.made_by(self.meta)["fingerprint"]:
            raise CodelmError(f"the weights of model {self.meta['model']!r} changed since the index "
                              f"was built: re-index with `codelm index PATH --rebuild`")

    def search(self, query: str, k: int = 10, language: str | None = None,
               path_glob: str | None = None, weight: float | None = None, tests: str = "rank",
               rerank: bool | None = None, rerank_weight: float | None = None) -> list[dict]:
        """The k best units for a natural-language or code query, best first, as contract dicts.
        `tests`: "rank" puts tests, examples, docs and benchmarks below the library
        (`indexers.testpaths`), "equal" searches them as any unit, "only" searches only them.
        `rerank`: re-score the top CANDIDATES with the re-ranker (None: the searcher's default,
        else whether one is installed; `indexers.rerank`); `rerank_weight`: its share of the
        final score (RERANK_WEIGHT)."""
        check_mode(tests)
        if not query.strip():
            raise UsageError("empty query: say what the code should do, or paste a snippet")
        if k < 1:
            raise UsageError("-k must be at least 1")
        with one_thread():
            qvec = self.encoder.queries().encode([query])[0]
            return self._search(query, qvec, k, language, path_glob, weight, tests, rerank, rerank_weight)

    def warm(self) -> None:
        """Open the query's sessions (encoder, and the re-ranker when on) and run them once, for
        processes that answer many queries (serve, mcp): the first query pays no start-up."""
        self.encoder.warm()
        if self.reranking(None):
            load_reranker(self.reranker).score("warm up", ["def warm(): pass"])

    def reranking(self, rerank: bool | None) -> bool:
        """Whether a search asked with `rerank` re-ranks: as asked, else as the searcher was
        opened, else when the shipped re-ranker is installed."""
        choice = self.rerank if rerank is None else rerank
        return reranker_available(self.reranker) if choice is None else bool(choice)

    def _search(self, query: str, qvec: np.ndarray, k: int, language: str | None,
                path_glob: str | None, weight: float | None, tests: str = "rank",
                rerank: bool | None = None, rerank_weight: float | None = None) -> list[dict]:
        bm25 = self.bm25.scores(code_tokens(query))
        allowed = self._allowed(language, path_glob)
        if tests == "only":
            only = set(self.test_ids.tolist())
            allowed = only if allowed is None else allowed & only
        size = max(POOL, k)
        pool = candidate_pool(self._dense(qvec, size, allowed), self._lexical_top(bm25, size, allowed), size)
        if not pool:
            return []
        dense_all = self._vectors(pool) @ qvec
        # BM25 ids are the unit ids in ascending order (written ORDER BY id): find by bisection
        where = np.searchsorted(self.bm25.ids, pool)
        lexical = bm25[np.minimum(where, len(bm25) - 1)] * (self.bm25.ids[np.minimum(where, len(bm25) - 1)] == pool)
        fused = fuse(dense_all, lexical.astype(np.float32), weight)
        penalty = np.where(np.isin(pool, self.test_ids), np.float32(TEST_PENALTY), np.float32(1)) \
            if tests == "rank" and len(self.test_ids) else np.ones(len(pool), dtype=np.float32)
        best = np.argsort(-fused * penalty, kind="stable")[:max(k, CANDIDATES)]
        if self.reranking(rerank):
            ids = [pool[i] for i in best]
            scores = rescore(query, self._texts(ids), fused[best], rerank_weight, self.reranker) * penalty[best]
            order = np.argsort(-scores, kind="stable")[:k]
            return self._results([ids[i] for i in order], [float(scores[i]) for i in order])
        best = best[:k]
        return self._results([pool[i] for i in best], [float(fused[i] * penalty[i]) for i in best])

    def _texts(self, ids: list[int]) -> list[str]:
        """What the re-ranker reads of these units (its `text`: the code, or what the index embeds)."""
        read = load_reranker(self.reranker).text
        rows = {r[0]: r[1:] for r in self._rows("id, name, kind, path, signature, body, docstring", ids)}
        return [read(*rows[i]) for i in ids]

    def _allowed(self, language: str | None, path_glob: str | None) -> set[int] | None:
        if language is None and path_glob is None:
            return None
        rows = self.db.execute("SELECT id, path, language FROM units")
        return {i for i, path, lang in rows
                if (language is None or lang == language)
                and (path_glob is None or fnmatch.fnmatch(path, path_glob))}

    def _lexical_top(self, bm25: np.ndarray, n: int, allowed: set[int] | None) -> list[int]:
        """Ids of the n best units by BM25 among those that match the query at all (score > 0)
        and are allowed, best first. Few units match a query: selecting among them, in numpy,
        costs a tenth of a top-n over every unit."""
        hits = np.flatnonzero(bm25 > 0)
        if allowed is not None:
            hits = hits[np.isin(self.bm25.ids[hits], np.fromiter(allowed, dtype=np.int64, count=len(allowed)))]
        return self.bm25.ids[hits[_top(bm25[hits], n)]].tolist()

    def _dense(self, qvec: np.ndarray, n: int, allowed: set[int] | None) -> list[int]:
        """Ids of the n nearest units (among the allowed ones), nearest first."""
        if allowed is not None:  # filtered: exact scores over the allowed units
            ids = sorted(allowed)
            scores = self._vectors(ids) @ qvec if ids else np.zeros(0)
            return [ids[i] for i in np.argsort(-scores, kind="stable")[:n]]
        _, ids = self.faiss.search(qvec[None], min(n, max(self.faiss.ntotal, 1)))
        return ids[0][ids[0] >= 0].tolist()

    def _vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these units, from this generation's FAISS index (it keeps them
        exactly: flat or HNSW-flat storage; far faster than reading SQLite's copies)."""
        return self.faiss.reconstruct_batch(np.asarray(ids, dtype=np.int64))

    def _rows(self, columns: str, ids: list[int]) -> list[tuple]:
        out = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            out += self.db.execute(f"SELECT {columns} FROM units WHERE id IN ({','.join('?' * len(chunk))})",
                                   chunk).fetchall()
        return out

    def _results(self, ids: list[int], scores: list[float]) -> list[dict]:
        keys = ("id", "path", "name", "kind", "language", "start_line", "end_line", "root")
        rows = {r[0]: r for r in self._rows(", ".join(keys), ids)}
        return [{**dict(zip(keys, rows[i])), "score": round(s, 4)} for i, s in zip(ids, scores)]

    def unit(self, unit_id: int) -> dict | None:
        """The unit with this id as a dict (id, root and every CodeUnit field), or None."""
        return store.read_unit(self.db, unit_id)


class DamagedFile(Exception):
    """A file of a generation that its library cannot read: `what` it is, and its path."""

    def __init__(self, what: str, path: Path) -> None:
        super().__init__(f"{what} {path}")
        self.what, self.path = what, path


def _read(path: Path, load, what: str):
    """`load(path)`; DamagedFile when the file is there but cannot be read."""
    try:
        return load(path)
    except Exception as err:  # noqa: BLE001 - faiss raises RuntimeError, numpy ValueError, pickle...
        if not path.exists():
            raise
        raise DamagedFile(what, path) from err


_GENERATIONS: dict[Path, tuple] = {}  # generation folder -> (its vectors file's stat, FAISS, BM25)
_LOADING = threading.Lock()


def _generation(folder: Path) -> tuple:
    """(FAISS index, BM25) of a generation folder, read once per process: Searchers on several
    threads share them (both answer concurrent searches). A folder written anew (an index
    rebuilt from scratch reuses generation numbers) is read again."""
    import faiss

    from indexers.bm25 import BM25

    folder = folder.resolve()
    stat = (folder / "vectors.faiss").stat()
    with _LOADING:
        for gone in [f for f in _GENERATIONS if not f.exists()]:
            del _GENERATIONS[gone]
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if _GENERATIONS.get(folder, (None,))[0] != stamp:
            _GENERATIONS[folder] = (stamp, _read(folder / "vectors.faiss", lambda p: faiss.read_index(str(p)), "vector file"),
                                    _read(folder / "bm25", BM25.load, "keyword index"))
        return _GENERATIONS[folder][1:]


@contextmanager
def one_thread():
    """One query is too small to share among threads: FAISS answers it on one (the encoder
    runs a query on its one-thread session, see indexers.embed)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the n highest scores, best first (ties by position)."""
    if len(scores) > n:
        part = np.argpartition(-scores, n)[:n]
        return part[np.lexsort((part, -scores[part]))]
    return np.argsort(-scores, kind="stable")


def open_searcher(index_dir: str | Path, rerank: bool | str | None = None) -> Searcher:
    """A Searcher (re-ranking by default per `rerank`), with a clear error when the index is
    missing or broken."""
    try:
        return Searcher(index_dir, rerank)
    except sqlite3.DatabaseError as err:
        raise store.no_index(Path(index_dir), f"corrupt database: {err}") from err
