"""Search encoders compared on the held-out corpus of benchmarks/search_quality.py.

The corpus (docstring-free files of packages never trained on) and its queries come from
`search_quality.build_corpus`; every extracted unit is a candidate, embedded as the index
embeds it (`indexers.text.unit_text`). BM25, stock MiniLM (dense and hybrid) and each
--model (dense and hybrid) rank all candidates for the same queries
(`codelm.tasks.search.evaluate.evaluate_search`). Prints one JSON object with MRR@10, recall@1/5/10,
NDCG@10 per system and the trained models' MRR@10 gains over stock MiniLM.

    python benchmarks/encoder_quality.py [--small] [--split test|tune] [--model DIR ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.search_quality import SPLITS, build_corpus  # noqa: E402
from codelm.tasks.search.evaluate import EvalSet, evaluate_search  # noqa: E402
from indexers.extract import extract_text  # noqa: E402
from indexers.text import unit_text  # noqa: E402


def held_out_set(split: str, small: bool) -> EvalSet:
    """The search_quality split's queries over all units of its docstring-free corpus."""
    with tempfile.TemporaryDirectory(prefix="encoder_quality_") as work:
        root = Path(work)
        queries = build_corpus(split, small, root)
        units = [u for path in sorted(root.rglob("*.py"))
                 for u in extract_text(path.read_text(encoding="utf-8"), path.relative_to(root).as_posix(), "python")]
    where = {(u.path, u.name): i for i, u in enumerate(units)}
    queries = [q for q in queries if (q["path"], q["name"]) in where]
    return EvalSet([q["query"] for q in queries], [unit_text(u) for u in units],
                   [where[q["path"], q["name"]] for q in queries])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="600 units, 100 queries")
    parser.add_argument("--split", choices=sorted(SPLITS), default="test")
    parser.add_argument("--model", action="append", default=[], help="trained encoder directory (repeatable)")
    args = parser.parse_args()
    started = time.perf_counter()
    eval_set = held_out_set(args.split, args.small)
    table = evaluate_search(eval_set, {"minilm": "minilm", **{m: m for m in args.model}})
    stock = table["dense:minilm"]["mrr@10"]
    out = {"split": args.split, "packages": SPLITS[args.split], "small": args.small,
           "queries": len(eval_set.queries), "candidates": len(eval_set.texts), "systems": table,
           "mrr_gain_over_stock_dense": {m: round(table[f"dense:{m}"]["mrr@10"] - stock, 4) for m in args.model},
           "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
