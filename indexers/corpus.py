"""The NL-code pretraining corpus: functions of source trees as JSONL shards.

`build_corpus(paths, out)` walks each tree (`indexers.walk`), extracts functions and methods
(`indexers.extract`; classes are left out) and writes, under `out`:

    train-00000.jsonl, ...   one record a line, at most `shard_size` records a shard
    valid-00000.jsonl, ...
    manifest.json            {"schema": 1, "seed", "valid_share", "min_docstring_words",
                              "shards": {"train": [...], "valid": [...]}, "counts": {...}}

A record:

    {"id": "<sha1 of the code>",   # also the key of deduplication
     "kind": "bimodal",           # bimodal: docstring + code; unimodal: code only
     "nl": "Return the sum ...",  # first paragraph of the docstring ("" when unimodal)
     "code": "def f(x):\\n ...",  # the function without its docstring
     "language": "python", "path": "root/pkg/mod.py", "name": "Class.method"}

Rules: a function is bimodal when its docstring's first paragraph has at least
`min_docstring_words` words, unimodal when it has no docstring, and dropped when its
docstring is shorter (neither a usable pair nor docstring-free code). Identical code is kept
once (first in path order). Train and valid are split by FILE: a file goes to valid when
sha1(f"{seed}:{path}") falls below `valid_share`, so no file has functions on both sides and
the split is fixed by the seed. `path` is the root's folder name plus the path inside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from codelm.errors import CodelmError
from indexers.extract import extract_text
from indexers.units import CodeUnit
from indexers.walk import walk

SCHEMA = 1


@dataclass
class CorpusReport:
    """What `build_corpus` wrote."""

    out: str
    files: int = 0
    functions: int = 0
    bimodal: int = 0
    unimodal: int = 0
    duplicates: int = 0
    short_docstring: int = 0
    train: int = 0
    valid: int = 0
    skipped: int = 0
    shards: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def first_paragraph(docstring: str) -> str:
    """The docstring up to its first blank line, on one line."""
    return " ".join(docstring.strip().split("\n\n")[0].split())


def first_sentence(text: str) -> str:
    """The first sentence of a summary (up to a full stop after a word), on one line."""
    text = " ".join(text.split())
    match = re.search(r"(?<=[a-z0-9)\]`'\"])[.!?](\s|$)", text)
    return (text[:match.start()] if match else text).strip()


def code_without_docstring(unit: CodeUnit) -> str:
    """The unit's source without its docstring (Python: signature + body; others: code as is)."""
    if unit.language == "python" and unit.docstring and unit.signature:
        body = textwrap.dedent(unit.body).strip("\n") or "pass"
        return f"{unit.signature.rstrip(':')}:\n{textwrap.indent(body, '    ')}\n"
    return unit.code


def is_valid_file(path: str, seed: int, valid_share: float) -> bool:
    """Whether the file at `path` belongs to the valid split."""
    digest = hashlib.sha1(f"{seed}:{path}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < valid_share


class _ShardWriter:
    def __init__(self, out: Path, split: str, shard_size: int) -> None:
        self.out, self.split, self.shard_size = out, split, shard_size
        self.names: list[str] = []
        self.count = 0
        self.handle = None

    def write(self, record: dict) -> None:
        if self.count % self.shard_size == 0:
            self.close()
            name = f"{self.split}-{len(self.names):05d}.jsonl"
            self.names.append(name)
            self.handle = (self.out / name).open("w", encoding="utf-8")
        self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def build_corpus(paths: Iterable[str | Path], out: str | Path, seed: int = 0, valid_share: float = 0.05,
                 min_docstring_words: int = 3, shard_size: int = 50_000, progress: bool = True,
                 exclude: tuple[str, ...] | list[str] = ()) -> CorpusReport:
    """Write the corpus of the source trees `paths` into `out`; see the module docstring.
    `exclude`: gitignore-style patterns left out of every tree (e.g. `_vendor/`)."""
    from tqdm import tqdm

    if not 0.0 <= valid_share < 1.0:
        raise CodelmError(f"valid share {valid_share} must be in [0, 1)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("train-*.jsonl")) + list(out.glob("valid-*.jsonl")):
        old.unlink()
    report = CorpusReport(out=str(out))
    writers = {s: _ShardWriter(out, s, shard_size) for s in ("train", "valid")}
    seen: set[str] = set()
    files = []
    for root in paths:
        walked = walk(root, ignore_patterns=list(exclude))
        report.skipped += len(walked.skipped)
        name = Path(root).resolve().name
        files += [(f"{name}/{f.rel}", f) for f in walked.files]
    report.files = len(files)
    for path, f in tqdm(files, desc="corpus", unit="file", file=sys.stderr, disable=not progress):
        split = "valid" if is_valid_file(path, seed, valid_share) else "train"
        for record in _records(f, path, min_docstring_words, report):
            if record["id"] in seen:
                report.duplicates += 1
                continue
            seen.add(record["id"])
            report.bimodal += record["kind"] == "bimodal"
            report.unimodal += record["kind"] == "unimodal"
            writers[split].write(record)
    for split, w in writers.items():
        w.close()
        setattr(report, split, w.count)
        report.shards[split] = w.names
    manifest = {"schema": SCHEMA, "seed": seed, "valid_share": valid_share,
                "min_docstring_words": min_docstring_words, "shards": report.shards,
                "counts": {k: v for k, v in report.to_json().items() if isinstance(v, int)}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return report


def _records(f, path: str, min_words: int, report: CorpusReport) -> Iterator[dict]:
    try:
        units = extract_text(f.text, f.rel, f.language)
    except CodelmError:
        return
    for unit in units:
        if unit.kind == "class":
            continue
        report.functions += 1
        nl = first_paragraph(unit.docstring)
        if unit.docstring and len(nl.split()) < min_words:
            report.short_docstring += 1
            continue
        code = code_without_docstring(unit)
        yield {"id": hashlib.sha1(code.encode("utf-8", "surrogatepass")).hexdigest(),
               "kind": "bimodal" if nl else "unimodal", "nl": nl, "code": code,
               "language": unit.language, "path": path, "name": unit.name}


def read_corpus(directory: str | Path, split: str) -> list[dict]:
    """All records of one split ("train" or "valid") of a corpus directory."""
    directory = Path(directory)
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        raise CodelmError(f"{directory}: no manifest.json; build the corpus with `codelm corpus PATH --out DIR`")
    names = json.loads(manifest.read_text())["shards"].get(split, [])
    records = []
    for name in names:
        with (directory / name).open(encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh if line.strip()]
    return records
