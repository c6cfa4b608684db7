"""Execution traces (tracer/)."""

from __future__ import annotations

import argparse
import json
import sys

from codelm.errors import UsageError, not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("trace", "run programs in the sandbox and record their execution", "codelm trace prog.py --json", not_implemented)
    _register_trace_eval(commands)
    _register_dataset_trace(commands)


# --- trace-eval ------------------------------------------------------------------------------

def _register_trace_eval(commands) -> None:
    p = commands.add("trace-eval", "score predicted traces against gold ones (CodeExecutor metrics)",
                     "codelm trace-eval --gold gold.txt --pred pred.txt --json", run_trace_eval)
    p.add_argument("--gold", required=True, help="gold traces, one CodeExecutor-form trace a line")
    p.add_argument("--pred", required=True, help="predicted traces, one a line, in the same order")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run_trace_eval(args: argparse.Namespace) -> int:
    """`codelm trace-eval`: print the metrics of `tracer.metrics.score_files`."""
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
                     description="Build an execution-trace dataset; the record schema is in tracer/DATASETS.md.")
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

    from pathlib import Path

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
