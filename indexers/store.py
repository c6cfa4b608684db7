"""The index directory: SQLite for units, files and metadata; FAISS and BM25 per generation.

    DIR/index.sqlite        meta (schema, model, fingerprint, dim, roots, generation),
                            files (path, sha1), units (all CodeUnit fields, hash, vector)
    DIR/gen-<N>/vectors.faiss, DIR/gen-<N>/bm25/, DIR/gen-<N>/ids.npy

Writes are atomic: a new generation's FAISS and BM25 files are written and fsynced first, then
one SQLite transaction changes the units and points `generation` at them, then the old
generation is removed. A process killed at any moment leaves the previous generation, which
the database still names, intact. Exact search (`IndexFlatIP`) below `HNSW_FROM` vectors,
HNSW above (measured: benchmarks/index_speed.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np

from codelm.errors import CodelmError
from indexers.units import CodeUnit

SCHEMA_VERSION = 1
HNSW_FROM = 50_000
DB_NAME = "index.sqlite"
UNIT_FIELDS = ("path", "name", "kind", "language", "start_line", "end_line", "code",
               "signature", "docstring", "body")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, sha1 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (id INTEGER PRIMARY KEY, {", ".join(UNIT_FIELDS)},
    hash TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS units_path ON units(path);
CREATE INDEX IF NOT EXISTS units_hash ON units(hash);
"""


def no_index(index_dir: Path, why: str) -> CodelmError:
    return CodelmError(f"no usable index at {index_dir} ({why}): run `codelm index PATH --index {index_dir}`")


def connect(index_dir: Path, create: bool = False) -> sqlite3.Connection:
    """The index database; raises CodelmError when it is missing or not an index."""
    path = Path(index_dir) / DB_NAME
    if not create and not path.is_file():
        raise no_index(index_dir, "missing")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.executescript(_SCHEMA)
        db.execute("SELECT count(*) FROM units").fetchone()
    except sqlite3.DatabaseError as err:
        raise no_index(index_dir, f"corrupt database: {err}") from err
    return db


def lock(index_dir: Path):
    """Hold DIR/lock for one writer: a second `codelm index` on the same DIR gets an error
    instead of racing the first (the lock goes when the process ends, killed or not)."""
    import fcntl

    handle = open(Path(index_dir) / "lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        handle.close()
        raise CodelmError(f"another `codelm index` is writing {index_dir}: wait for it to finish") from err
    return handle


def read_meta(db: sqlite3.Connection) -> dict:
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


def write_meta(db: sqlite3.Connection, **values) -> None:
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                   [(k, json.dumps(v)) for k, v in values.items()])


def unit_from_row(row: sqlite3.Row | tuple) -> CodeUnit:
    return CodeUnit(*row[:len(UNIT_FIELDS)])


def all_vectors(db: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of every unit, ordered by id."""
    rows = db.execute("SELECT id, vector FROM units ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    vectors = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]) if rows else None
    return ids, vectors


def build_faiss(ids: np.ndarray, vectors: np.ndarray | None, dim: int):
    """Exact inner-product search for small indexes, HNSW for large ones; ids are unit ids."""
    import faiss

    if len(ids) >= HNSW_FROM:
        inner = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = 80
        inner.hnsw.efSearch = 128
    else:
        inner = faiss.IndexFlatIP(dim)
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


def write_generation(index_dir: Path, generation: int, db: sqlite3.Connection, dim: int) -> None:
    """Write FAISS + BM25 files of the units now in `db` under gen-<generation>, fsynced."""
    import faiss

    from indexers.bm25 import BM25
    from indexers.text import code_tokens, unit_text

    folder = Path(index_dir) / f"gen-{generation}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ids, vectors = all_vectors(db)
    faiss.write_index(build_faiss(ids, vectors, dim), str(folder / "vectors.faiss"))
    rows = db.execute(f"SELECT {', '.join(UNIT_FIELDS)} FROM units ORDER BY id")
    BM25.build([code_tokens(unit_text(unit_from_row(r))) for r in rows], ids).save(folder / "bm25")
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def remove_stale(index_dir: Path, keep: int) -> None:
    """Delete generation folders other than `keep` (left by a finished or killed run)."""
    for folder in Path(index_dir).glob("gen-*"):
        if folder.name != f"gen-{keep}":
            shutil.rmtree(folder, ignore_errors=True)
