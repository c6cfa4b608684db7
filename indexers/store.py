"""The index directory: SQLite for units, files and metadata; FAISS and BM25 per generation.

    DIR/index.sqlite        meta (schema_version, model, fingerprint, runtime, quantization,
                            max_tokens, dim, roots, generation),
                            files (root, path, sha1), units (root, all CodeUnit fields, hash, vector)
    DIR/gen-<N>/vectors.faiss, DIR/gen-<N>/bm25/, DIR/gen-<N>/ids.npy

Writes are atomic: a new generation's FAISS and BM25 files are written and fsynced first, then
one SQLite transaction changes the units and points `generation` at them, then the old
generation is removed. A process killed at any moment leaves the previous generation, which
the database still names, intact. Exact search (`IndexFlatIP`) below `HNSW_FROM` vectors,
HNSW above (measured: benchmarks/index_speed.py).

An index holds one or more roots (repositories): `root` is the absolute root directory and
`path` is relative to it, so (root, path) names a file. The schema has a version (meta
`schema_version`); `connect` upgrades an older index in place with the functions in
`MIGRATIONS` (one SQLite transaction, no unit re-embedded) and refuses a newer one.
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

SCHEMA_VERSION = 2
HNSW_FROM = 50_000
OLD_MAX_TOKENS = 256  # the tokens texts were cut to before an index recorded `max_tokens`
DB_NAME = "index.sqlite"
INDEX_DIR_NAME = ".codelm"  # the default index directory, inside the repository
UNIT_FIELDS = ("path", "name", "kind", "language", "start_line", "end_line", "code",
               "signature", "docstring", "body")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (root TEXT NOT NULL, path TEXT NOT NULL, sha1 TEXT NOT NULL,
    PRIMARY KEY (root, path));
CREATE TABLE IF NOT EXISTS units (id INTEGER PRIMARY KEY, {", ".join(UNIT_FIELDS)},
    hash TEXT NOT NULL, vector BLOB NOT NULL, root TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS units_root_path ON units(root, path);
CREATE INDEX IF NOT EXISTS units_hash ON units(hash);
"""


def _v1_to_v2(db: sqlite3.Connection, meta: dict) -> None:
    """Several roots: a `root` column on units and files, filled with the v1 index's one root."""
    root = (meta.get("roots") or [""])[0]
    db.execute("ALTER TABLE units ADD COLUMN root TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE units SET root = ?", (root,))
    db.execute("DROP INDEX IF EXISTS units_path")
    db.execute("ALTER TABLE files RENAME TO files_v1")
    db.execute("CREATE TABLE files (root TEXT NOT NULL, path TEXT NOT NULL, sha1 TEXT NOT NULL, "
               "PRIMARY KEY (root, path))")
    db.execute("INSERT INTO files SELECT ?, path, sha1 FROM files_v1", (root,))
    db.execute("DROP TABLE files_v1")


# from-version -> the function that upgrades an index of that version by one (in a transaction)
MIGRATIONS = {1: _v1_to_v2}


def find_index(start: str | Path | None = None) -> Path:
    """The nearest `.codelm` folder in `start` (default: the working directory) or a folder above
    it, as git finds `.git`; CodelmError when there is none."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / INDEX_DIR_NAME).is_dir():
            return folder / INDEX_DIR_NAME
    raise CodelmError(f"no index found: no {INDEX_DIR_NAME} folder in {here} or any folder above it: run "
                      f"`codelm index PATH` on the repository, or pass --index DIR")


def make_dir(index_dir: Path) -> None:
    """Create the index directory, with a `.gitignore` of `*` so that `git status` never lists it."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    ignore = index_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by codelm: the index is rebuilt, never committed\n*\n")


def no_index(index_dir: Path, why: str) -> CodelmError:
    return CodelmError(f"no usable index at {index_dir} ({why}): run `codelm index PATH --index {index_dir}`")


def rebuild_command(index_dir: Path, meta: dict) -> str:
    """The command that rebuilds this index from its roots."""
    roots = meta.get("roots") or ["PATH"]
    default = len(roots) == 1 and Path(index_dir).resolve() == Path(roots[0]) / INDEX_DIR_NAME
    return f"codelm index {' '.join(roots)}{'' if default else f' --index {index_dir}'} --rebuild"


def connect(index_dir: Path, create: bool = False) -> sqlite3.Connection:
    """The index database; raises CodelmError when it is missing or not an index."""
    path = Path(index_dir) / DB_NAME
    if not create and not path.is_file():
        raise no_index(index_dir, "missing")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'units'").fetchone():
            db.executescript(_SCHEMA)
            write_meta(db, schema_version=SCHEMA_VERSION)
        migrate(db, Path(index_dir))
        db.execute("SELECT count(*) FROM units").fetchone()
    except sqlite3.DatabaseError as err:
        raise no_index(index_dir, f"corrupt database: {err}") from err
    return db


def schema_version(db: sqlite3.Connection) -> int:
    """The index's schema version (an index written before versions were recorded is 1)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return json.loads(row[0]) if row else 1


def migrate(db: sqlite3.Connection, index_dir: Path) -> None:
    """Upgrade an index of an older schema to SCHEMA_VERSION in one transaction (SQLite's write
    lock: a concurrent reader or writer sees the old schema or the new one, never half of it).
    Vectors, FAISS and BM25 files stay as they are: nothing is re-embedded."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise CodelmError(f"the index at {index_dir} has schema version {version}, newer than this "
                          f"codelm reads ({SCHEMA_VERSION}): upgrade codelm, or re-index into a new --index DIR")
    if version == SCHEMA_VERSION:
        return
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        raise CodelmError(f"the index at {index_dir} needs an upgrade to schema {SCHEMA_VERSION} and cannot "
                          f"be written ({err}): run `codelm index --index {index_dir}` where it can") from err
    try:
        version = schema_version(db)  # another process may have migrated it meanwhile
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](db, read_meta(db))
            version += 1
            write_meta(db, schema_version=version)
        db.execute("COMMIT")
    except BaseException as err:
        db.execute("ROLLBACK")
        if isinstance(err, sqlite3.OperationalError):
            raise CodelmError(f"the index at {index_dir} needs an upgrade to schema {SCHEMA_VERSION} and cannot "
                              f"be written ({err}): run `codelm index --index {index_dir}` where it can") from err
        raise


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


def generation(db: sqlite3.Connection) -> int | None:
    """The generation the index's last completed build wrote (None before the first)."""
    row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return None if row is None else json.loads(row[0])


def searchable_meta(db: sqlite3.Connection, index_dir: Path) -> dict:
    """The meta of an index that has completed a build (a generation to search); CodelmError if not."""
    meta = read_meta(db)
    if "generation" not in meta:
        raise no_index(index_dir, "never completed")
    return meta


def summary(db: sqlite3.Connection, index_dir: str | Path) -> dict:
    """What an index holds, as `/stats` and the MCP `index_status` tool report it."""
    meta = read_meta(db)
    return {"index": str(index_dir), "units": db.execute("SELECT count(*) FROM units").fetchone()[0],
            "files": db.execute("SELECT count(*) FROM files").fetchone()[0], "model": meta.get("model"),
            "schema": meta.get("schema_version"), "generation": meta.get("generation"),
            "roots": meta.get("roots", []), "updated": meta.get("updated"),
            **{k: v for k, v in made_by(meta).items() if k != "fingerprint"},
            "languages": [lang for (lang,) in db.execute("SELECT DISTINCT language FROM units ORDER BY 1")]}


def made_by(meta: dict) -> dict:
    """What made an index's vectors: the weights' fingerprint, the runtime, the quantisation and
    the tokens a text was cut to. An index of a codelm before ONNX Runtime records neither of the
    first two: its vectors came from torch, in int8 where its fingerprint ends in "-int8"; one
    made before texts were cut to 128 tokens records no `max_tokens`: they were cut to 256."""
    fingerprint = meta.get("fingerprint") or ""
    return {"fingerprint": fingerprint.removesuffix("-int8") or None,
            "runtime": meta.get("runtime", "torch"),
            "quantization": meta.get("quantization", "int8" if fingerprint.endswith("-int8") else "fp32"),
            "max_tokens": int(meta.get("max_tokens", OLD_MAX_TOKENS))}


def write_meta(db: sqlite3.Connection, **values) -> None:
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                   [(k, json.dumps(v)) for k, v in values.items()])


def unit_from_row(row: sqlite3.Row | tuple) -> CodeUnit:
    return CodeUnit(*row[:len(UNIT_FIELDS)])


def read_unit(db: sqlite3.Connection, unit_id: int) -> dict | None:
    """The unit with this id as a dict (id, root and every CodeUnit field), or None."""
    row = db.execute(f"SELECT {', '.join(UNIT_FIELDS)}, root FROM units WHERE id = ?", (unit_id,)).fetchone()
    return None if row is None else {"id": unit_id, "root": row[-1], **unit_from_row(row).__dict__}


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
        inner.hnsw.efSearch = 256  # recall@10 0.92 at 128 on 1M real-embedding-like vectors
    else:
        inner = faiss.IndexFlatIP(dim)
    index = faiss.IndexIDMap2(inner)
    if len(ids):
        index.add_with_ids(vectors, ids)
    return index


# BM25 tokens by unit content hash, kept from one generation to the next in a long-lived process
# (`codelm index --watch`, MCP reindex): a one-file change tokenizes only its own units
_TOKENS: dict[str, list[str]] = {}


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
    tokens = {}
    for content_hash, *fields in db.execute(f"SELECT hash, {', '.join(UNIT_FIELDS)} FROM units ORDER BY id"):
        tokens.setdefault(content_hash, _TOKENS.get(content_hash) or code_tokens(unit_text(unit_from_row(fields))))
    BM25.build([tokens[h] for (h,) in db.execute("SELECT hash FROM units ORDER BY id")], ids).save(folder / "bm25")
    _TOKENS.clear()
    _TOKENS.update(tokens)
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def remove_stale(index_dir: Path, keep: int) -> None:
    """Delete generation folders other than `keep` (left by a finished or killed run)."""
    for folder in Path(index_dir).glob("gen-*"):
        if folder.name != f"gen-{keep}":
            shutil.rmtree(folder, ignore_errors=True)
