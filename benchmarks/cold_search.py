"""Cold search: wall time of `codelm search QUERY -k 5` in a fresh process, as a user at a shell
runs it (interpreter start, imports, index and model load, one query), this tree against
another (--base: e.g. the torch path of commit 2e845f4 extracted with `git archive`).

Each tree indexes the same snapshot of this repository (`git archive HEAD`) into an index of
its own (each side's vectors are its own; the export to ONNX, when this tree needs one, is
made there, into a cache of its own, before any timing). Then for each of the 20 queries the two sides run once each,
alternating which goes first. Prints one JSON object: p50 and p90 per side (seconds), the p50
ratio, and whether any timed run of this tree exported (it must not).

    python benchmarks/cold_search.py --base /tmp/base-onnx
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
QUERIES = [
    "combine dense and lexical scores", "read the index metadata", "split camel case identifiers",
    "walk a repository respecting gitignore", "run untrusted code in a sandbox with limits",
    "export the encoder to onnx", "mean pooling of token states", "parse a duration string",
    "write the index atomically", "extract functions with tree-sitter", "record an execution trace",
    "beam search generation with a cache", "attention mask for prefix language model",
    "load a checkpoint from safetensors", "http server search endpoint", "mutate a program operator",
    "bm25 scores of a query", "learning rate warm up schedule", "tokenize code with whitespace tokens",
    "compare predicted traces with gold traces"]


def codelm(tree: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m codelm ARGS` with `tree`'s code, from `tree`, with `cache` as its CODELM_CACHE
    (each side exports its own model: a newer export would otherwise serve both)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(tree), CODELM_CACHE=str(cache))
    return subprocess.run([sys.executable, "-m", "codelm", *args], cwd=tree, env=env,
                          capture_output=True, text=True, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare with")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "onnx": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
        units, caches = {}, {name: Path(tmp) / f"cache-{name}" for name in sides}
        for name, tree in sides.items():
            out = codelm(tree, caches[name], "index", str(repo), "--index", f"{tmp}/{name}", "--json")
            units[name] = json.loads(out.stdout)["units"]
        times: dict[str, list[float]] = {name: [] for name in sides}
        exported = False
        for i, query in enumerate(QUERIES):
            for name in (list(sides) if i % 2 == 0 else list(sides)[::-1]):
                start = time.perf_counter()
                out = codelm(sides[name], caches[name], "search", query, "--index", f"{tmp}/{name}", "-k", "5")
                times[name].append(time.perf_counter() - start)
                exported |= name == "onnx" and "exporting" in out.stderr
    stats = {name: {"p50_s": round(float(np.median(t)), 3), "p90_s": round(float(np.percentile(t, 90)), 3)}
             for name, t in times.items()}
    print(json.dumps({**stats, "p50_ratio": round(stats["base"]["p50_s"] / stats["onnx"]["p50_s"], 2),
                      "units": units, "queries": len(QUERIES), "onnx_exported_while_timed": exported,
                      "seconds": {name: [round(x, 3) for x in t] for name, t in times.items()}}))


if __name__ == "__main__":
    main()
