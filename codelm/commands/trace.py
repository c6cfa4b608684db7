"""Execution traces (tracer/)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from codelm.errors import CodelmError, UsageError


def register(commands) -> None:
    """Add this area's subcommands."""
    _register_trace(commands)
    _register_trace_eval(commands)
    _register_dataset_trace(commands)


# --- trace -----------------------------------------------------------------------------------

HINTS = {"too_long": "raise --max-steps to record more", "timeout": "raise --timeout if it needs longer",
         "memory": "raise --memory if it needs more"}  # after the listing's status


def _register_trace(commands) -> None:
    p = commands.add("trace", "run programs in the sandbox and record their execution",
                     "codelm trace prog.py --json", run_trace,
                     description="Run each Python program in the sandbox and record every line it "
                                 "executes with the local variables after it ran, and what it printed. "
                                 "The exit status is 0 whenever the traces were made, whatever the "
                                 "programs did (their status says that). Formats: docs/traces.md.")
    p.add_argument("files", nargs="+", metavar="FILE", help="Python programs to trace")
    p.add_argument("--json", action="store_true", help="one JSON trace per file, one a line")
    p.add_argument("--format", choices=("json", "codeexecutor"), default=None,
                   help="json: the trace record; codeexecutor: the CodeExecutor text form "
                        "(default: a readable listing, or json with --json)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="wall-clock limit per program")
    p.add_argument("--memory", type=int, default=512, metavar="MB", help="address-space limit per program")
    p.add_argument("--stdin", default=argparse.SUPPRESS, metavar="TEXT",
                   help="the programs' standard input (default: what is piped or redirected in, else empty)")
    p.add_argument("--max-steps", type=int, default=10_000, help="stop a program after this many lines")


def run_trace(args: argparse.Namespace) -> int:
    """`codelm trace`: trace each file in order and print the traces."""
    from tracer.listing import listing
    from tracer.sandbox import Limits
    from tracer.trace import trace_file

    if args.timeout <= 0 or args.memory <= 0 or args.max_steps <= 0:
        raise UsageError("--timeout, --memory and --max-steps must be positive")
    fmt = args.format or ("json" if args.json else "text")
    for name in args.files:
        check_program(name)
    stdin = args.stdin if "stdin" in vars(args) else piped_stdin()
    limits = Limits(timeout_s=args.timeout, memory_mb=args.memory, max_steps=args.max_steps)
    for name in args.files:
        trace = trace_file(name, stdin=stdin, limits=limits)
        if fmt == "json":
            print(json.dumps(trace.to_json(), ensure_ascii=False), flush=True)
        elif fmt == "codeexecutor":
            from tracer.format import to_codeexecutor
            print(to_codeexecutor(trace), flush=True)
        else:
            print(listing(trace, _source_text(name), header=len(args.files) > 1,
                          hint=HINTS.get(trace.status)), flush=True)
    return 0


def check_program(name: str) -> None:
    """Refuse what is not a program file (missing, a directory, binary) with what to do instead."""
    path = Path(name)
    if path.is_dir():
        raise CodelmError(f"{name} is a directory; give the path of a Python program in it, or trace them all "
                          f"with `codelm dataset trace --kind tutorial --src {name} --out DIR`")
    if not path.is_file():
        raise CodelmError(f"{name}: no such file; give the path of a Python program")
    with path.open("rb") as f:
        if b"\0" in f.read(8192):
            raise CodelmError(f"{name} is a binary file, not Python source; give the .py file of the program")


def piped_stdin() -> str:
    """What is piped or redirected into this command (`echo 3 4 | codelm trace prog.py`), read
    to its end; "" when stdin is a terminal, closed, or neither a pipe nor a file (a socket a job
    runner left open). A note goes to stderr if the pipe stays open."""
    import stat
    import threading

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, ValueError, OSError):  # no stdin, or one without a descriptor
        return ""
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode)):
        return ""
    note = threading.Timer(3.0, lambda: print("note: reading the programs' input from stdin until it closes "
                                              "(give --stdin TEXT, or < /dev/null, to skip)", file=sys.stderr))
    note.daemon = True
    note.start()
    try:
        return sys.stdin.buffer.read().decode("utf-8", "replace")
    finally:
        note.cancel()


def _source_text(name: str) -> str:
    from tracer.trace import decode_source

    data = Path(name).read_bytes()
    try:
        return decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return data.decode("utf-8", "replace")


# --- score trace (trace-eval) ----------------------------------------------------------------

def _register_trace_eval(commands) -> None:
    p = commands.add("score trace", "score predicted traces against gold ones (CodeExecutor metrics)",
                     "codelm score trace --gold gold.txt --pred pred.txt --json", run_trace_eval,
                     aliases=("trace-eval",))
    p.add_argument("--gold", required=True, help="gold traces, one CodeExecutor-form trace a line")
    p.add_argument("--pred", required=True, help="predicted traces, one a line, in the same order")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run_trace_eval(args: argparse.Namespace) -> int:
    """`codelm score trace` (alias `trace-eval`): print the metrics of `tracer.metrics.score_files`."""
    from tracer.metrics import score_files

    try:
        scores = score_files(args.gold, args.pred)
    except FileNotFoundError as err:
        raise UsageError(f"cannot read {err.filename}: give an existing file of traces, one a line") from None
    except ValueError as err:
        raise UsageError(f"{err}: --gold and --pred must hold the same number of lines") from None
    if args.json:
        print(json.dumps(scores))
    else:
        for key, value in scores.items():
            print(f"{key:16s} {value:6.2f}")
    return 0


# --- dataset trace ---------------------------------------------------------------------------

def _register_dataset_trace(commands) -> None:
    p = commands.add("dataset trace", "build an execution-trace dataset (JSONL shards, train/valid/test)",
                     "codelm dataset trace --kind singleline --out data/single --limit 1000", run_dataset_trace,
                     description="Build an execution-trace dataset; the record schema is in docs/traces.md.")
    p.add_argument("--kind", required=True, choices=("singleline", "tutorial", "codenet"),
                   help="singleline: generated programs; tutorial: a directory of .py files; "
                        "codenet: PROBLEM/*.py solutions with PROBLEM/input*.txt")
    p.add_argument("--src", help="source directory (tutorial, codenet)")
    p.add_argument("--out", required=True, help="output directory (rerun the same command to resume)")
    p.add_argument("--mutants", type=int, default=0, help="mutants kept per program (tutorial, codenet)")
    p.add_argument("--workers", type=int, default=1, help="processes tracing in parallel")
    p.add_argument("--limit", type=int, default=None,
                   help="original programs to take (singleline: how many to generate; default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of generation, mutant sampling and splits")
    p.add_argument("--timeout", type=float, default=5.0, help="wall-clock seconds per traced run")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def run_dataset_trace(args: argparse.Namespace) -> int:
    """`codelm dataset trace`: build the dataset with `tracer.datasets.build`."""
    from tracer.datasets import build

    if args.kind != "singleline" and not (args.src and Path(args.src).is_dir()):
        raise UsageError(f"--kind {args.kind} needs --src DIR, an existing directory of programs to trace")
    if args.workers < 1 or args.mutants < 0 or (args.limit is not None and args.limit < 0):
        raise UsageError("--workers must be at least 1, --mutants and --limit at least 0")
    summary = build(args.kind, args.out, src=args.src, mutants=args.mutants, workers=args.workers,
                    limit=args.limit, seed=args.seed, timeout_s=args.timeout)
    if args.json:
        print(json.dumps(summary))
    else:
        print(", ".join(f"{k}: {v}" for k, v in summary.items()), file=sys.stderr)
    return 0
