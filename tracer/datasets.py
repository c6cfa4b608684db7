"""Build execution-trace datasets: SingleLine, Tutorial-style and CodeNet-style (docs/traces.md).

    build("tutorial", "data/tut", src="examples/", mutants=5, workers=2)

Every stage is deterministic from the seed: the programs are taken in sorted order, the
split of each original program comes from a hash of (seed, origin), mutants are sampled
with a per-origin seed, and results are written in program order whatever the number of
workers. The build is resumable: records are appended (and fsynced) to `train.jsonl`,
`valid.jsonl`, `test.jsonl`, then the origin is appended to `done.txt`; a rerun first drops
records of origins not in `done.txt` (the torn tail of a killed run), then skips done origins.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from tracer.format import to_codeexecutor
from tracer.mutate import keep_mutant, mutants as make_mutants
from tracer.schema import Trace
from tracer.singleline import generate

SPLITS = (("train", 0.8), ("valid", 0.1), ("test", 0.1))
KEEP_STATUSES = ("ok", "exception")   # an original's trace is kept when it ended like this
TraceFn = Callable[..., Trace]        # (source, path=, stdin=, limits=) -> Trace


@dataclass
class Program:
    """One original program: its id (`origin`), source, where it lives, and its inputs."""

    origin: str
    source: str
    path: str = "prog.py"
    inputs: list[str] = field(default_factory=lambda: [""])


def singleline_programs(count: int, seed: int) -> list[Program]:
    """`count` generated SingleLine programs."""
    return [Program(f"singleline/{i:07d}", src) for i, src in enumerate(generate(count, seed))]


def tutorial_programs(src: str | Path) -> list[Program]:
    """Every `.py` file under `src` (sorted), run with empty input."""
    root = Path(src)
    return [Program(p.relative_to(root).as_posix(), _read(p), str(p)) for p in sorted(root.rglob("*.py"))]


def codenet_programs(src: str | Path) -> list[Program]:
    """CodeNet layout: `src/PROBLEM/*.py` are solutions, `src/PROBLEM/input*.txt` their inputs
    (each solution runs on every input of its problem; none: one run on empty input)."""
    out: list[Program] = []
    for problem in sorted(p for p in Path(src).iterdir() if p.is_dir()):
        inputs = [_read(p) for p in sorted(problem.glob("input*.txt"))] or [""]
        for sol in sorted(problem.glob("*.py")):
            out.append(Program(sol.relative_to(src).as_posix(), _read(sol), str(sol), inputs))
    return out


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def split_of(origin: str, seed: int) -> str:
    """The split of an original program (and all its mutants): a hash of (seed, origin)."""
    digest = hashlib.sha256(f"{seed}\0{origin}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    for name, share in SPLITS:
        if u < share:
            return name
        u -= share
    return SPLITS[-1][0]


def record_key(source: str, stdin: str) -> str:
    """The dedup key of a record: a hash of (source, input)."""
    return hashlib.sha256(json.dumps([source, stdin]).encode()).hexdigest()


def _seed_of(seed: int, origin: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\0{origin}".encode()).digest()[8:16], "big")


def _default_trace(source: str, path: str = "prog.py", stdin: str = "", limits: Any = None) -> Trace:
    from tracer.trace import trace_source
    return trace_source(source, path, stdin, limits)


def _record(kind: str, origin: str, rid: str, source: str, stdin: str, trace: Trace,
            mutation: dict | None) -> dict[str, Any]:
    trace.path = origin
    return {"id": rid, "origin": origin, "kind": kind, "source": source, "input": stdin,
            "status": trace.status, "mutation": mutation,
            "trace_text": to_codeexecutor(trace, source.splitlines()), "trace": trace.to_json()}


def trace_program(program: Program, kind: str, n_mutants: int, seed: int, trace_fn: TraceFn,
                  limits: Any = None) -> list[dict[str, Any]]:
    """The records of one original program: its runs on each input, then up to `n_mutants`
    mutants that pass CodeExecutor's filter (run to completion on every input, behave
    differently on at least one), tried among a seeded sample of 4x as many mutation sites."""
    records = []
    originals = []
    for j, stdin in enumerate(program.inputs):
        trace = trace_fn(program.source, path=program.path, stdin=stdin, limits=limits)
        originals.append(trace)
        if trace.status in KEEP_STATUSES:
            rid = f"{program.origin}@{j}"
            records.append(_record(kind, program.origin, rid, program.source, stdin, trace, None))
    if n_mutants <= 0 or any(t.status != "ok" for t in originals):
        return records
    candidates = make_mutants(program.source, limit=4 * n_mutants, seed=_seed_of(seed, program.origin))
    kept = 0
    for k, mutant in enumerate(candidates):
        traces = [trace_fn(mutant.source, path=program.path, stdin=s, limits=limits) for s in program.inputs]
        completed = all(t.status == "ok" and not t.truncated for t in traces)
        if not (completed and any(keep_mutant(o, t) for o, t in zip(originals, traces))):
            continue
        for j, (stdin, trace) in enumerate(zip(program.inputs, traces)):
            records.append(_record(kind, program.origin, f"{program.origin}#m{k}@{j}", mutant.source, stdin,
                                   trace, {"op": mutant.op, "line": mutant.line}))
        kept += 1
        if kept == n_mutants:
            break
    return records


_WORKER: dict[str, Any] = {}


def _init_worker(options: dict[str, Any]) -> None:
    _WORKER.update(options)


def _work(program: Program) -> tuple[str, list[dict[str, Any]]]:
    o = _WORKER
    return program.origin, trace_program(program, o["kind"], o["mutants"], o["seed"], o["trace_fn"], o["limits"])


def programs_for(kind: str, src: str | Path | None, limit: int | None, seed: int) -> list[Program]:
    """The original programs of a dataset kind (`limit` of them; singleline: default 1000)."""
    if kind == "singleline":
        return singleline_programs(1000 if limit is None else limit, seed)
    if kind not in ("tutorial", "codenet"):
        raise ValueError(f"unknown dataset kind {kind!r}; choose singleline, tutorial or codenet")
    if src is None or not Path(src).is_dir():
        raise NotADirectoryError(f"{src} is not a directory; give the directory of programs to trace")
    programs = tutorial_programs(src) if kind == "tutorial" else codenet_programs(src)
    return programs if limit is None else programs[:limit]


def _recover(out: Path) -> tuple[set[str], set[str], dict[str, int]]:
    """Done origins, record keys and counts of what is complete in `out`; drops the records of
    origins that a killed run left unfinished (and a torn last line)."""
    done_file = out / "done.txt"
    done_text = done_file.read_text(encoding="utf-8") if done_file.exists() else ""
    if not done_text.endswith("\n"):  # a torn last origin: not done
        done_text = done_text[:done_text.rfind("\n") + 1]
        done_file.write_text(done_text, encoding="utf-8")
    done = set(done_text.splitlines())
    keys: set[str] = set()
    counts = {}
    for split, _ in SPLITS:
        path = out / f"{split}.jsonl"
        kept: list[str] = []
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and rec.get("origin") in done:
                kept.append(line)
                keys.add(record_key(rec["source"], rec["input"]))
        clean = "".join(line + "\n" for line in kept)
        if clean != text:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(clean, encoding="utf-8")
            os.replace(tmp, path)
        counts[split] = len(kept)
    return done, keys, counts


def build(kind: str, out: str | Path, src: str | Path | None = None, mutants: int = 0, workers: int = 1,
          limit: int | None = None, seed: int = 0, timeout_s: float = 5.0,
          trace_fn: TraceFn | None = None, progress: bool = True) -> dict[str, Any]:
    """Build (or resume) the dataset in `out`; returns a summary (programs traced this run,
    programs already done, records per split, duplicates dropped, seconds)."""
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    programs = programs_for(kind, src, limit, seed)
    done, keys, counts = _recover(out)
    todo = [p for p in programs if p.origin not in done]
    limits = None
    if trace_fn is None:
        from tracer.sandbox import Limits
        trace_fn, limits = _default_trace, Limits(timeout_s=timeout_s)
    options = {"kind": kind, "mutants": mutants, "seed": seed, "trace_fn": trace_fn, "limits": limits}
    files = {split: open(out / f"{split}.jsonl", "a", encoding="utf-8") for split, _ in SPLITS}
    done_file = open(out / "done.txt", "a", encoding="utf-8")
    duplicates = 0
    try:
        for origin, records in _results(todo, options, workers, progress):
            split = split_of(origin, seed)
            for rec in records:
                key = record_key(rec["source"], rec["input"])
                if key in keys:
                    duplicates += 1
                    continue
                keys.add(key)
                files[split].write(json.dumps(rec) + "\n")
                counts[split] += 1
            _sync(files[split])
            done_file.write(origin + "\n")
            _sync(done_file)
    finally:
        for f in (*files.values(), done_file):
            f.close()
    return {"kind": kind, "programs": len(todo), "already_done": len(programs) - len(todo),
            "records": counts, "duplicates": duplicates, "seconds": round(time.perf_counter() - start, 3)}


def _sync(f) -> None:
    f.flush()
    os.fsync(f.fileno())


def _results(todo: list[Program], options: dict[str, Any], workers: int,
             progress: bool) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(origin, records) for each program, in program order, traced by `workers` processes."""
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="tracing", unit="prog", file=sys.stderr, disable=not progress)
    try:
        if workers <= 1:
            _init_worker(options)
            for program in todo:
                yield _work(program)
                bar.update()
            return
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ctx.Pool(workers, initializer=_init_worker, initargs=(options,)) as pool:
            for item in pool.imap(_work, todo, chunksize=1):
                yield item
                bar.update()
    finally:
        bar.close()


def read_split(out: str | Path, split: str) -> Iterator[dict[str, Any]]:
    """The records of one split of a built dataset, in order."""
    with open(Path(out) / f"{split}.jsonl", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
