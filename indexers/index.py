"""Build or update an index: walk, extract, embed what changed, write atomically."""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from codelm.errors import CodelmError
from indexers import store
from indexers.embed import DEFAULT_MODEL, Encoder, load_encoder
from indexers.extract import extract_text
from indexers.text import unit_text
from indexers.units import CodeUnit
from indexers.walk import walk


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
    """The index directory of a repository when none is given: ROOT/.codelm."""
    return Path(root) / store.INDEX_DIR_NAME


def build_index(roots: str | Path | Sequence[str | Path] | None, index_dir: str | Path | None = None,
                model: str | None = None, rebuild: bool = False, progress: bool = True,
                exclude: list[str] | None = None, include: list[str] | None = None,
                reembed: bool = False) -> IndexReport:
    """Index the source files under `roots` (one directory or several) into `index_dir`
    (default: the first root's .codelm). None or [] re-indexes the roots stored in `index_dir`;
    roots given replace the stored ones (units of a root no longer given are dropped).

    Re-running embeds only units whose content changed and drops deleted files. An index
    built with another model is an error unless `rebuild`, which starts it afresh. `reembed`
    embeds every unit again with the same model (vectors of another runtime or quantisation
    are otherwise kept, with a one-line notice on stderr).
    `exclude`/`include` are gitignore-syntax patterns, stored with the index: None reuses
    the stored ones, a list (even empty) replaces them.
    """
    started = time.perf_counter()
    given = resolve_roots(roots)
    if not given and index_dir is None:
        raise CodelmError("nothing to index: give the repository's directory (or --index DIR of an index to update)")
    index_dir = Path(index_dir) if index_dir else default_index_dir(given[0])
    walked = None
    if given and not (index_dir / store.DB_NAME).exists():  # a new index: nothing is created for no source files
        walked = _walk(given, list(exclude or []), list(include or []))
        if not walked[0]:
            raise CodelmError(f"no source files found under {', '.join(map(str, given))}: give the "
                              f"repository's directory (`codelm index --help` lists the languages)")
    store.make_dir(index_dir)
    with store.lock(index_dir):  # one writer; connecting under it migrates an older schema
        db = store.connect(index_dir, create=True)
        meta = store.read_meta(db)
        roots = given or resolve_roots(meta.get("roots") or [])
        if not roots:
            raise CodelmError(f"the index at {index_dir} records no repository: give the directories to index")
        exclude = list(meta.get("exclude", [])) if exclude is None else list(exclude)
        include = list(meta.get("include", [])) if include is None else list(include)
        model = model or meta.get("model") or DEFAULT_MODEL
        if meta.get("model") and meta["model"] != model and not rebuild:
            raise CodelmError(f"the index at {index_dir} was built with model {meta['model']!r}, not "
                              f"{model!r}: pass --rebuild to re-embed everything with {model!r}")
        _notice_runtime(meta, load_encoder(model), rebuild or reembed)  # exports the model if needed
        files, report = walked if walked and roots == given else _walk(roots, exclude, include)
        known = {} if rebuild or reembed else {(r, p): h for r, p, h in
                                               db.execute("SELECT root, path, sha1 FROM files")}
        current = {key: _file_hash(f) for key, f in files.items()}
        changed = [key for key in files if known.get(key) != current[key]]
        deleted = [key for key in known if key not in current]
        names = [str(r) for r in roots]
        if changed or deleted or rebuild or "generation" not in meta or meta.get("roots") != names:
            units = [(key[0], u) for key in changed
                     for u in extract_text(_file_text(files[key]), files[key].rel, files[key].language)]
            report.embedded = _update(db, index_dir, meta, model, rebuild, reembed, names, units,
                                      changed, deleted, current, progress)
        store.write_meta(db, exclude=exclude, include=include)  # the next re-index reuses them
        report.units = db.execute("SELECT count(*) FROM units").fetchone()[0]
        db.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def resolve_roots(roots: str | Path | Sequence[str | Path] | None) -> list[Path]:
    """The roots as absolute paths, in order, without repeats; an error if one is missing, a file,
    or inside another."""
    if roots is None:
        return []
    listed = [roots] if isinstance(roots, (str, Path)) else list(roots)
    for root in map(Path, listed):
        if not root.is_dir():
            raise CodelmError(f"{root} {'is a file, not a directory' if root.exists() else 'does not exist'}; "
                              f"give the directory of a repository to index")
    out = list(dict.fromkeys(Path(r).resolve() for r in listed))
    for a in out:
        for b in out:
            if b in a.parents:
                raise CodelmError(f"{a} is inside {b}: index {b} alone (it includes {a}), or give roots that do not overlap")
    return out


def _walk(roots: list[Path], exclude: list[str], include: list[str]) -> tuple[dict, IndexReport]:
    """The source files of every root keyed by (root, rel), and the report's files and skips
    (a skip names its root when the index has several)."""
    files, report = {}, IndexReport()
    for root in roots:
        walked = walk(root, exclude, include)
        files.update({(str(root), f.rel): f for f in walked.files})
        report.skipped += [{"path": s.path, "reason": s.reason, **({"root": str(root)} if len(roots) > 1 else {})}
                           for s in walked.skipped]
    report.files = len(files)
    return files, report


def _update(db, index_dir: Path, meta: dict, model: str, rebuild: bool, reembed: bool, roots: list[str],
            units: list[tuple[str, CodeUnit]], changed: list[tuple[str, str]],
            deleted: list[tuple[str, str]], hashes: dict[tuple[str, str], str], progress: bool) -> int:
    """Embed new units (each with its root), then switch to a new generation in one
    transaction. Returns #embedded."""
    encoder = load_encoder(model)
    encoder.queries()  # a query tower's one-time export: now, not on a search
    before = store.made_by(meta)
    if before["fingerprint"] not in (None, encoder.fingerprint) and not rebuild:
        raise CodelmError(f"the weights of model {model!r} changed since the index at {index_dir} "
                          f"was built: pass --rebuild to re-embed everything")
    if rebuild or reembed or "generation" not in meta:  # every vector is made now
        before = made_now(encoder)
    reusable = {} if rebuild or reembed else _stored_vectors(db, {u.content_hash for _, u in units})
    todo = [u for _, u in units if u.content_hash not in reusable]
    vectors = _embed(encoder, todo, progress)
    fresh = dict(zip((u.content_hash for u in todo), vectors))
    generation = int(meta.get("generation", 0)) + 1
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    db.execute("BEGIN IMMEDIATE")
    try:
        if rebuild:
            db.execute("DELETE FROM units")
            db.execute("DELETE FROM files")
        db.executemany("DELETE FROM units WHERE root = ? AND path = ?", changed + deleted)
        db.executemany("DELETE FROM files WHERE root = ? AND path = ?", changed + deleted)
        db.executemany(f"INSERT INTO units (root, {', '.join(store.UNIT_FIELDS)}, hash, vector) "
                       f"VALUES ({', '.join('?' * (len(store.UNIT_FIELDS) + 3))})",
                       [(root, *(getattr(u, f) for f in store.UNIT_FIELDS), u.content_hash,
                         (reusable.get(u.content_hash) or fresh[u.content_hash].tobytes()))
                        for root, u in units])
        db.executemany("INSERT INTO files VALUES (?, ?, ?)", [(*key, hashes[key]) for key in changed])
        store.write_generation(index_dir, generation, db, encoder.dim)
        store.write_meta(db, schema_version=store.SCHEMA_VERSION, model=model,
                         fingerprint=encoder.fingerprint, runtime=before["runtime"],
                         quantization=before["quantization"], max_tokens=before["max_tokens"], dim=encoder.dim,
                         model_dir=str(encoder.model_dir), roots=roots,
                         generation=generation, created=meta.get("created", now), updated=now)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    store.remove_stale(index_dir, generation)
    return len(todo)


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


def _embed(encoder: Encoder, units: list[CodeUnit], progress: bool):
    from tqdm import tqdm

    with tqdm(total=len(units), desc="embedding", unit="unit", file=sys.stderr,
              disable=not progress or not units, dynamic_ncols=True) as bar:
        return encoder.encode([unit_text(u) for u in units], progress=bar.update)


def made_now(encoder: Encoder) -> dict:
    """How the encoder makes vectors: `store.made_by`'s keys, the fingerprint apart."""
    return {"runtime": encoder.runtime, "quantization": encoder.quantization, "max_tokens": encoder.max_tokens}


def _notice_runtime(meta: dict, encoder: Encoder, reembedding: bool) -> None:
    """One line on stderr when the index's vectors came from another runtime or quantisation
    than the encoder's, or from texts cut to another length (they still answer; new and changed
    units get the encoder's)."""
    before, now = store.made_by(meta), made_now(encoder)
    if "generation" in meta and not reembedding and any(before[k] != v for k, v in now.items()):
        print(f"note: this index's vectors were made by {_how(before)}, new ones by {_how(now)}; "
              f"`codelm index --reembed` re-embeds them all", file=sys.stderr, flush=True)


def _how(made: dict) -> str:
    return f"{made['runtime']} {made['quantization']} from {made['max_tokens']} tokens"
