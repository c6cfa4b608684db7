"""Build or update an index: walk, extract, embed what changed, write atomically."""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codelm.errors import CodelmError
from indexers import store
from indexers.extract import extract_text
from indexers.text import unit_text
from indexers.units import CodeUnit
from indexers.walk import walk

DEFAULT_MODEL = "minilm"


@dataclass
class IndexReport:
    """The contract's `codelm index --json` summary."""

    files: int = 0
    units: int = 0
    embedded: int = 0
    skipped: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def default_index_dir(root: str | Path) -> Path:
    return Path(root) / ".codelm"


def build_index(root: str | Path, index_dir: str | Path | None = None, model: str | None = None,
                rebuild: bool = False, progress: bool = True, exclude: list[str] | None = None,
                include: list[str] | None = None) -> IndexReport:
    """Index the source files under `root` into `index_dir` (default ROOT/.codelm).

    Re-running embeds only units whose content changed and drops deleted files. An index
    built with another model is an error unless `rebuild`, which starts it afresh.
    `exclude`/`include` are gitignore-syntax patterns, stored with the index: None reuses
    the stored ones, a list (even empty) replaces them.
    """
    started = time.perf_counter()
    root = Path(root)
    index_dir = Path(index_dir) if index_dir else default_index_dir(root)
    exclude, include = _patterns(index_dir, exclude, include)
    walked = walk(root, exclude, include)
    db = store.connect(index_dir, create=True)
    with store.lock(index_dir):
        meta = store.read_meta(db)
        model = model or meta.get("model") or DEFAULT_MODEL
        if meta.get("model") and meta["model"] != model and not rebuild:
            raise CodelmError(f"the index at {index_dir} was built with model {meta['model']!r}, not "
                              f"{model!r}: pass --rebuild to re-embed everything with {model!r}")
        known = {} if rebuild else dict(db.execute("SELECT path, sha1 FROM files"))
        current = {f.rel: _file_hash(f) for f in walked.files}
        changed = [f for f in walked.files if known.get(f.rel) != current[f.rel]]
        deleted = [p for p in known if p not in current]
        report = IndexReport(files=len(walked.files),
                             skipped=[{"path": s.path, "reason": s.reason} for s in walked.skipped])
        if changed or deleted or rebuild or "generation" not in meta:
            units = [u for f in changed for u in extract_text(_file_text(f), f.rel, f.language)]
            report.embedded = _update(db, index_dir, meta, model, rebuild, root, units,
                                      [f.rel for f in changed], deleted, current, progress)
        store.write_meta(db, exclude=exclude, include=include)  # the next re-index reuses them
        report.units = db.execute("SELECT count(*) FROM units").fetchone()[0]
        db.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _update(db, index_dir: Path, meta: dict, model: str, rebuild: bool, root: Path,
            units: list[CodeUnit], changed: list[str], deleted: list[str],
            hashes: dict[str, str], progress: bool) -> int:
    """Embed new units, then switch to a new generation in one transaction. Returns #embedded."""
    from indexers.embed import Encoder

    encoder = Encoder(model)
    if meta.get("fingerprint") not in (None, encoder.fingerprint) and not rebuild:
        raise CodelmError(f"the weights of model {model!r} changed since the index at {index_dir} "
                          f"was built: pass --rebuild to re-embed everything")
    reusable = {} if rebuild else _stored_vectors(db, {u.content_hash for u in units})
    todo = [u for u in units if u.content_hash not in reusable]
    vectors = _embed(encoder, todo, progress)
    fresh = dict(zip((u.content_hash for u in todo), vectors))
    generation = int(meta.get("generation", 0)) + 1
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    db.execute("BEGIN IMMEDIATE")
    try:
        if rebuild:
            db.execute("DELETE FROM units")
            db.execute("DELETE FROM files")
        for path in changed + deleted:
            db.execute("DELETE FROM units WHERE path = ?", (path,))
            db.execute("DELETE FROM files WHERE path = ?", (path,))
        db.executemany(f"INSERT INTO units ({', '.join(store.UNIT_FIELDS)}, hash, vector) "
                       f"VALUES ({', '.join('?' * (len(store.UNIT_FIELDS) + 2))})",
                       [(*(getattr(u, f) for f in store.UNIT_FIELDS), u.content_hash,
                         (reusable.get(u.content_hash) or fresh[u.content_hash].tobytes()))
                        for u in units])
        db.executemany("INSERT INTO files VALUES (?, ?)", [(p, hashes[p]) for p in changed])
        store.write_generation(index_dir, generation, db, encoder.dim)
        store.write_meta(db, schema_version=store.SCHEMA_VERSION, model=model,
                         fingerprint=encoder.fingerprint, dim=encoder.dim,
                         model_dir=str(encoder.model_dir), roots=[str(root.resolve())],
                         generation=generation, created=meta.get("created", now), updated=now)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    store.remove_stale(index_dir, generation)
    return len(todo)


def _patterns(index_dir: Path, exclude: list[str] | None,
              include: list[str] | None) -> tuple[list[str], list[str]]:
    """The exclude and include patterns to use: those given, else those stored with the index."""
    meta = {}
    if (index_dir / store.DB_NAME).is_file():
        db = store.connect(index_dir)
        meta = store.read_meta(db)
        db.close()
    return (list(meta.get("exclude", [])) if exclude is None else list(exclude),
            list(meta.get("include", [])) if include is None else list(include))


def _file_hash(f) -> str:
    """The walk's hash of the file's bytes when it gives one, else a hash of its text."""
    return getattr(f, "sha1", "") or hashlib.sha1(_file_text(f).encode("utf-8", "surrogatepass")).hexdigest()


def _file_text(f) -> str:
    """The text the walk read, or the file read now (the walk checked it is UTF-8)."""
    text = getattr(f, "text", None)
    if text is None:
        try:
            text = f.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise CodelmError(f"{f.rel} changed or vanished while indexing ({err}): run `codelm index` again") from err
    return text


def _stored_vectors(db, hashes: set[str]) -> dict[str, bytes]:
    """Vectors already in the index for these content hashes (moved or unchanged units)."""
    out = {}
    wanted = list(hashes)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = db.execute(f"SELECT hash, vector FROM units WHERE hash IN ({','.join('?' * len(chunk))})", chunk)
        out.update(dict(rows))
    return out


def _embed(encoder, units: list[CodeUnit], progress: bool):
    from tqdm import tqdm

    with tqdm(total=len(units), desc="embedding", unit="unit", file=sys.stderr,
              disable=not progress or not units, dynamic_ncols=True) as bar:
        return encoder.encode([unit_text(u) for u in units], progress=bar.update)
