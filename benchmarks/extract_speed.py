"""Extraction speed over the standard library: functions per second, against Python's `ast`.

    python benchmarks/extract_speed.py [--small]

Prints one JSON object: files, units, seconds, units/s and units per CPU second (steadier on a
shared machine) for tree-sitter extraction
(`indexers.extract`), and for the baseline a user would write (`ast.parse` + `ast.walk`
collecting function and class nodes, their source lines and docstrings), in one run.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.extract import extract_text  # noqa: E402
from indexers.walk import walk  # noqa: E402


def _ast_units(text: str) -> int:
    count, lines = 0, text.splitlines(keepends=True)
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            "".join(lines[node.lineno - 1:node.end_lineno])
            ast.get_docstring(node)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only the first 60 files")
    args = parser.parse_args()
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [f for f in walk(root).files if f.language == "python"]
    files = files[:60] if args.small else files
    texts = [(f.rel, f.path.read_text(encoding="utf-8")) for f in files]
    start, cpu = time.perf_counter(), time.process_time()
    units = sum(len(extract_text(text, rel, "python")) for rel, text in texts)
    ts_seconds, ts_cpu = time.perf_counter() - start, time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    baseline = 0
    for _, text in texts:
        try:
            baseline += _ast_units(text)
        except SyntaxError:
            pass
    ast_seconds, ast_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({
        "files": len(texts), "lines": sum(t.count("\n") for _, t in texts),
        "units": units, "seconds": round(ts_seconds, 3),
        "units_per_s": round(units / ts_seconds), "units_per_cpu_s": round(units / ts_cpu),
        "baseline_ast_units": baseline, "baseline_ast_seconds": round(ast_seconds, 3),
        "baseline_ast_units_per_s": round(baseline / ast_seconds),
        "baseline_ast_units_per_cpu_s": round(baseline / ast_cpu),
        "speed_ratio_vs_ast": round((units / ts_seconds) / (baseline / ast_seconds), 2),
    }))


if __name__ == "__main__":
    main()
