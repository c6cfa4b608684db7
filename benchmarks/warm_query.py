"""Warm single-query latency of the encoder, as serve and mcp run it: one query at a time
after `Encoder.warm()`. Compares this tree (ONNX Runtime, the one-thread query session and a
session on every core) with another tree given by --base (e.g. the torch path of commit
2e845f4 extracted with `git archive`, whose warm() traces a TorchScript model), in one run:
`--rounds` rounds alternate which side goes first, each side in a fresh process (with an
export cache of its own) timing the same queries inside `indexers.search.one_thread()` as a
search does (docstring summaries of stdlib functions, 3 to 40 tokens). Prints one JSON object:
p50 and p90 per side (ms, medians over rounds) and the per-round ratios.

    python benchmarks/warm_query.py --base /tmp/base-onnx [--rounds 3] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORKER = """
import inspect, json, sys, time, email.message, http.client, logging
import numpy as np
from indexers.embed import Encoder
from indexers.extract import extract_text
threads = {threads}
queries = []
for m in (email.message, http.client, logging):
    queries += [u.docstring.split(".")[0][:200] for u in extract_text(inspect.getsource(m), "m.py", "python")
                if u.docstring.strip()]
queries = queries[:{n}]
encoder = Encoder()
encoder.warm()
from indexers.search import one_thread  # as Searcher.search runs a query (torch on one thread in the base)
encode = encoder.queries().encode if hasattr(encoder, "queries") else encoder.encode  # a query tower
def one(q):
    with one_thread():
        return encode([q])
run = one if threads is None else (
    lambda q: run_ids(encoder.session(threads), [encoder.tokenizer.encode(q).ids], encoder.pad_id, 2048))
if threads is not None:
    from codelm.core.export import run as run_ids
for q in queries[:5]:
    run(q)
times = []
for q in queries:
    t = time.perf_counter(); run(q); times.append(time.perf_counter() - t)
print(json.dumps({{"p50_ms": 1000 * float(np.median(times)), "p90_ms": 1000 * float(np.percentile(times, 90))}}))
"""


def measure(tree: Path, threads: int | None, n: int, cache: Path) -> dict:
    """p50/p90 of single queries in a fresh process running the encoder of `tree`, its exports
    in `cache` (a newer export in a shared cache would serve both trees)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(tree), CODELM_CACHE=str(cache))
    out = subprocess.run([sys.executable, "-c", WORKER.format(threads=threads, n=n)], cwd=tree, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare with (its indexers.embed)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    sides = {"base": (args.base, None), "onnx_query_session": (ROOT, None), "onnx_all_cores": (ROOT, os.cpu_count())}
    runs: dict[str, list[dict]] = {k: [] for k in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(sides)[::-1]
            for name in order:
                tree, threads = sides[name]
                cache = Path(tmp) / ("base" if name == "base" else "this")
                runs[name].append(measure(tree, threads, args.queries, cache))
    out = {name: {stat: round(float(np.median([x[stat] for x in rs])), 2) for stat in ("p50_ms", "p90_ms")}
           for name, rs in runs.items()}
    out["p50_ratio_base_over_onnx"] = [round(b["p50_ms"] / o["p50_ms"], 2)
                                       for b, o in zip(runs["base"], runs["onnx_query_session"])]
    out.update(rounds=args.rounds, queries=args.queries, cores=os.cpu_count())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
