"""Benchmark: top-1 accuracy of plain search against execution-verified search, on real code.

Corpus: installed packages the search model was not trained on (not the standard library):
`more_itertools` (vendored in setuptools), `mpmath` and `fontTools.misc`. Every top-level
function whose docstring has a doctest `>>> name(args)` with a literal expected value (and no
other names than builtins) becomes a query: its docstring's first sentence; its docstring is
removed from the indexed copy; its checks are up to three doctests turned into
`f(args) == expected`. Functions whose checks fail on the original are dropped (counted).

    python benchmarks/verified_search.py [--small] [--candidates 20] [--budget 20]

prints one JSON object: plain and verified top-1 accuracy, the share of queries whose function is
among the candidates (the first N results that can take the call) and among the plain top N, the median and p90 seconds per verified query, and the cost of one bare
sandbox child (start, import nothing, return).
"""

from __future__ import annotations

import argparse
import ast
import builtins
import doctest
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codelm.tasks.search.verified import (RESULTS_PER_CANDIDATE, CheckPlan, check_candidates, make_plan, parse_checks,  # noqa: E402
                             select_candidates, verified_search)

SITE = Path(next(p for p in sys.path if p.endswith("site-packages")))
PACKAGES = {"more_itertools": SITE / "setuptools" / "_vendor" / "more_itertools",
            "mpmath": SITE / "mpmath", "fontTools": SITE / "fontTools"}
SMALL = ("more_itertools",)
ONLY = {"fontTools": ("__init__.py", "misc/")}  # fontTools is large: its pure-Python helpers only


class _Rename(ast.NodeTransformer):
    def __init__(self, name: str) -> None:
        self.name = name

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name("f", node.ctx) if node.id == self.name else node


def doctest_checks(name: str, doc: str, limit: int = 3) -> list[str]:
    """Doctests `>>> name(...)` with a literal expected value, as checks on `f`."""
    try:
        examples = doctest.DocTestParser().get_examples(doc)
    except ValueError:
        return []
    checks = []
    for ex in examples:
        try:
            source = ast.parse(ex.source.strip(), mode="eval")
            want = ast.literal_eval(ex.want.strip())
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            continue
        names = {n.id for n in ast.walk(source) if isinstance(n, ast.Name)}
        if name in names and all(n == name or hasattr(builtins, n) for n in names):
            checks.append(f"{ast.unparse(_Rename(name).visit(source))} == {want!r}")
    return checks[:limit]


def first_sentence(doc: str) -> str:
    text = " ".join(doc.split("\n\n")[0].split())
    return text.split(". ")[0].rstrip(".")


def build_corpus(dest: Path, packages: tuple[str, ...]) -> list[dict]:
    """Copy the packages into `dest`, strip the docstrings of the query functions, return queries."""
    queries = []
    for package in packages:
        source = PACKAGES[package]
        for file in sorted(source.rglob("*.py")):
            rel = file.relative_to(source).as_posix()
            if "test" in rel or (package in ONLY and not rel.startswith(ONLY[package])):
                continue
            text = file.read_text(encoding="utf-8")
            out = dest / package / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            lines, cut = text.splitlines(keepends=True), []
            for node in ast.parse(text).body:
                doc = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
                checks = doctest_checks(node.name, doc) if doc and len(node.body) > 1 else []
                if checks and first_sentence(doc):
                    queries.append({"query": first_sentence(doc), "path": f"{package}/{rel}",
                                    "name": node.name, "checks": checks})
                    cut.append((node.body[0].lineno, node.body[0].end_lineno))
            for start, end in sorted(cut, reverse=True):
                del lines[start - 1:end]
            out.write_text("".join(lines), encoding="utf-8")
    return queries


def _holds(root: Path, query: dict) -> bool:
    """Whether the query's checks pass on its own function (docstring-free copy, same code)."""
    target = {"path": query["path"], "name": query["name"], "kind": "function", "language": "python"}
    plan = CheckPlan(checks=query["checks"], calls=parse_checks(query["checks"]))
    return bool(check_candidates(root, [target], plan)[0]["verified"])


def child_cost(root: Path) -> float:
    """Median seconds of a sandbox child for a one-line module and one check."""
    (root / "bare.py").write_text("def one():\n    return 1\n")
    plan = CheckPlan(checks=["f() == 1"], calls=parse_checks(["f() == 1"]))
    times = []
    for _ in range(5):
        start = time.monotonic()
        check_candidates(root, [{"path": "bare.py", "name": "one", "kind": "function", "language": "python"}], plan)
        times.append(time.monotonic() - start)
    (root / "bare.py").unlink()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="more_itertools only, 30 queries")
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--budget", type=float, default=20.0)
    args = parser.parse_args()
    from indexers.index import build_index
    from indexers.search import open_searcher

    tmp = Path(tempfile.mkdtemp(prefix="verified-bench-"))
    try:
        root = tmp / "corpus"
        queries = build_corpus(root, SMALL if args.small else tuple(PACKAGES))
        print(f"{len(queries)} queries; checking them on the original functions", file=sys.stderr)
        with ThreadPoolExecutor(2) as pool:
            holds = list(pool.map(lambda q: _holds(root, q), queries))
        kept = [q for q, ok in zip(queries, holds) if ok][:30 if args.small else None]
        cost = child_cost(root)
        start = time.monotonic()
        report = build_index(root, tmp / "index", progress=False)
        index_s = time.monotonic() - start
        searcher = open_searcher(tmp / "index")
        plain = verified = among = top_n = 0
        seconds = []
        for q in kept:
            target = (q["path"], q["name"])
            hits = searcher.search(q["query"], RESULTS_PER_CANDIDATE * args.candidates)
            top_n += target in [(h["path"], h["name"]) for h in hits[:args.candidates]]
            chosen, _ = select_candidates(root, hits, make_plan(q["checks"], args.candidates, args.budget))
            among += target in [(hits[i]["path"], hits[i]["name"]) for i in chosen]
            plain += (hits[0]["path"], hits[0]["name"]) == target if hits else 0
            start = time.monotonic()
            found = verified_search(searcher, q["query"], q["checks"], 10, args.candidates, args.budget)
            seconds.append(time.monotonic() - start)
            top = found["results"][0] if found["results"] else {}
            verified += (top.get("path"), top.get("name")) == target and bool(top.get("verified"))
        n = max(len(kept), 1)
        print(json.dumps({
            "packages": list(SMALL if args.small else PACKAGES), "queries": len(kept),
            "dropped_failing_on_original": len(queries) - sum(holds),
            "units_indexed": report.units, "index_seconds": round(index_s, 1),
            "plain_top1": round(plain / n, 3), "verified_top1": round(verified / n, 3),
            "among_candidates": round(among / n, 3), "in_plain_top_n": round(top_n / n, 3),
            "verified_over_among": round(verified / max(among, 1), 3),
            "median_s_per_query": round(statistics.median(seconds), 2) if seconds else None,
            "p90_s_per_query": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 2) if seconds else None,
            "child_cost_s": round(cost, 3), "candidates": args.candidates, "budget_s": args.budget}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
