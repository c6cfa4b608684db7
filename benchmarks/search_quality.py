"""Search quality: find a function by the first sentence of its (removed) docstring.

The corpus is real code installed in the venv, from packages the project does not train on
(its training corpus is the standard library). Each split has its own packages, so that the
fusion weight and the unit text chosen on `tune` are checked on code never looked at:

    tune: networkx, jinja2, click, rich, markdown_it
    test: sympy, sklearn, numpy, dateutil

Files are drawn with a fixed seed, round robin over the split's packages, until the corpus
holds CORPUS units; every docstring is removed from the indexed copy (module, class and
function ones). Queries are the first sentences of functions' and methods' docstrings that
say something (>= 4 words, not "See ...", "Alias for ...", unique in the corpus). The copy is
indexed and searched with the project's own code (`indexers.index.build_index`,
`indexers.search.Searcher`): BM25 alone is the fused search at weight 0, dense alone at
weight 1, hybrid at the default weight. Prints one JSON object: MRR@10, recall@1, recall@10.

`--tests equal` searches tests, examples and docs as any code (the corpus leaves test folders
out, but keeps e.g. benchmark folders); the default ranks them below library code, as search does.
`--with-tests` keeps the packages' test folders in the corpus, as in a repository, while the
queries still ask for library code; it also scores hybrid search with tests ranked equally.

    python benchmarks/search_quality.py [--small] [--split tune|test] [--keep DIR] [--tests rank|equal] [--with-tests]
        [--model ENCODER] [--reranker DIR] [--rerank-weights 1,0.7] [--dense-weights 0.8,0.9]

With a re-ranker (the shipped one when installed, or --reranker) it also scores hybrid search
with the top candidates re-ranked ("hybrid_rerank@W" for each re-ranker weight W); "hybrid"
is always without.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers.corpus import first_paragraph  # noqa: E402
from indexers.corpus import first_sentence as sentence_of  # noqa: E402
from indexers.extract import extract_text  # noqa: E402
from indexers.units import CodeUnit  # noqa: E402

SPLITS = {"tune": ["networkx", "jinja2", "click", "rich", "markdown_it"],
          "test": ["sympy", "sklearn", "numpy", "dateutil"]}
SEED = 20261123
CORPUS, QUERIES = 3000, 500
SMALL_CORPUS, SMALL_QUERIES = 600, 100
_UNINFORMATIVE = re.compile(r"^(see|alias|same as|shortcut|deprecated|like|equivalent to|"
                            r"return self|wrapper|todo|internal|helper|override|implement|"
                            r"this (is|method|function)|a? ?docstring|\W)", re.I)


def first_sentence(docstring: str) -> str:
    """The first sentence of a docstring's first paragraph, one line (as the search training's
    first-sentence queries are cut: `indexers.corpus.first_sentence`)."""
    return sentence_of(first_paragraph(docstring))


def informative(sentence: str) -> bool:
    """Whether a first sentence can stand as a query: 4-40 words of prose, no reference."""
    words = sentence.split()
    return 4 <= len(words) <= 40 and not _UNINFORMATIVE.match(sentence) and ">>>" not in sentence


def strip_docstrings(source: str) -> str:
    """`source` without any docstring (module, class, function); still valid Python."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str):
            found.append((node.body[0], len(node.body) > 1))
    for expr, has_rest in sorted(found, key=lambda f: -f[0].lineno):
        first, last = expr.lineno - 1, expr.end_lineno - 1
        head = lines[first][:_char(lines[first], expr.col_offset)]
        tail = lines[last][_char(lines[last], expr.end_col_offset):]
        if has_rest and not head.strip() and not tail.strip():
            lines[first:last + 1] = []
        else:
            lines[first:last + 1] = [head + "pass" + tail]
    return "".join(lines)


def _char(line: str, byte_offset: int) -> int:
    """ast offsets count UTF-8 bytes; the character index of one."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace"))


def package_files(package: str, with_tests: bool = False) -> list[Path]:
    root = Path(sysconfig.get_paths()["purelib"]) / package
    return sorted(p for p in root.rglob("*.py") if with_tests or not {"tests", "test", "testing"} & set(p.parts))


def build_corpus(split: str, small: bool, root: Path, with_tests: bool = False) -> list[dict]:
    """Write the split's docstring-free files under `root`; return the queries
    ({"query", "path", "name"}) whose answers are units in it (library units only, `with_tests`)."""
    rng = random.Random(SEED)
    cap, n_queries = (SMALL_CORPUS, SMALL_QUERIES) if small else (CORPUS, QUERIES)
    queues = []
    for package in SPLITS[split]:
        files = package_files(package, with_tests)
        rng.shuffle(files)
        queues.append(files)
    units: list[CodeUnit] = []
    purelib = Path(sysconfig.get_paths()["purelib"])
    while len(units) < cap and any(queues):
        for queue in queues:
            if not queue or len(units) >= cap:
                continue
            path = queue.pop()
            rel = path.relative_to(purelib).as_posix()
            try:
                text = path.read_text(encoding="utf-8")
                stripped = strip_docstrings(text)
            except (SyntaxError, UnicodeDecodeError, ValueError):
                continue
            found = extract_text(text, rel, "python")
            if not found:
                continue
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(stripped, encoding="utf-8")
            units += found
    if with_tests:
        from indexers.testpaths import is_test_path

        return pick_queries([u for u in units if not is_test_path(u.path)], n_queries, rng)
    return pick_queries(units, n_queries, rng)


def pick_queries(units: list[CodeUnit], n: int, rng: random.Random) -> list[dict]:
    """Up to n functions/methods whose docstring's first sentence is informative and unique,
    each identified by a unique (path, name)."""
    keys: dict[tuple[str, str], int] = {}
    sentences: dict[str, int] = {}
    for u in units:
        keys[u.path, u.name] = keys.get((u.path, u.name), 0) + 1
        s = first_sentence(u.docstring).lower()
        sentences[s] = sentences.get(s, 0) + 1
    queries = [{"query": first_sentence(u.docstring), "path": u.path, "name": u.name} for u in units
               if u.kind != "class" and keys[u.path, u.name] == 1
               and informative(first_sentence(u.docstring))
               and sentences[first_sentence(u.docstring).lower()] == 1]
    rng.shuffle(queries)
    return queries[:n]


def score(ranked: list[list[tuple[str, str]]], queries: list[dict]) -> dict:
    """MRR@10, recall@1 and recall@10 of ranked (path, name) lists against the queries' answers."""
    rr, at1, at10 = 0.0, 0, 0
    for results, q in zip(ranked, queries):
        answer = (q["path"], q["name"])
        if answer in results[:10]:
            rank = results.index(answer) + 1
            rr += 1.0 / rank
            at1 += rank == 1
            at10 += 1
    n = max(len(queries), 1)
    return {"mrr@10": round(rr / n, 4), "recall@1": round(at1 / n, 4), "recall@10": round(at10 / n, 4)}


def run(split: str, small: bool, keep: Path | None = None, tests: str = "rank", with_tests: bool = False,
        model: str | None = None, reranker: str | None = None, rerank_weights: tuple[float, ...] = (),
        dense_weights: tuple[float, ...] = ()) -> dict:
    """Build the split's corpus, index it (with encoder `model`, default the shipped one), and
    score BM25, dense and hybrid search, each without re-ranking, and hybrid re-ranked by
    `reranker` (default the shipped one, when installed) at each of `rerank_weights`; hybrid
    also at each of `dense_weights` (to tune the fusion)."""
    from indexers.fusion import DENSE_WEIGHT
    from indexers.index import build_index
    from indexers.search import Searcher

    work = Path(tempfile.mkdtemp(prefix="search_quality_")) if keep is None else keep
    root = work / "corpus"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    started = time.perf_counter()
    queries = build_corpus(split, small, root, with_tests)
    # a kept index is updated, not rebuilt: the same files again embed nothing (tuning reruns)
    report = build_index(root, work / "index", rebuild=keep is None, progress=sys.stderr.isatty(),
                         **({"model": model} if model else {}))
    index_seconds = time.perf_counter() - started
    from indexers import rerank

    searcher = Searcher(work / "index", rerank=reranker or None)
    out = {"split": split, "packages": SPLITS[split], "small": small, "model": searcher.meta["model"],
           "units": report.units,
           "queries": len(queries), "dense_weight": DENSE_WEIGHT, "tests": tests, "with_tests": with_tests,
           "index_seconds": round(index_seconds, 1)}
    runs = [("bm25", 0.0, tests), ("dense", 1.0, tests), ("hybrid", None, tests)]
    for label, weight, mode in runs + ([("hybrid_tests_equal", None, "equal")] if with_tests else []):
        ranked = [[(r["path"], r["name"]) for r in searcher.search(q["query"], k=10, weight=weight, tests=mode,
                                                                    rerank=False)] for q in queries]
        out[label] = score(ranked, queries)
    if rerank.available(searcher.reranker):
        out["reranker"] = searcher.reranker
        for w in rerank_weights or (rerank.load_reranker(searcher.reranker).weight,):
            ranked = [[(r["path"], r["name"]) for r in searcher.search(q["query"], k=10, tests=tests, rerank=True,
                                                                        rerank_weight=w)] for q in queries]
            out[f"hybrid_rerank@{w:g}"] = score(ranked, queries)
    for w in dense_weights:
        ranked = [[(r["path"], r["name"]) for r in searcher.search(q["query"], k=10, weight=w, tests=tests,
                                                                    rerank=False)] for q in queries]
        out[f"hybrid@{w:g}"] = score(ranked, queries)
    best_single = max(out["bm25"]["mrr@10"], out["dense"]["mrr@10"])
    out["hybrid_over_best_single"] = round(out["hybrid"]["mrr@10"] / max(best_single, 1e-9), 3)
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="600 units, 100 queries")
    parser.add_argument("--split", choices=sorted(SPLITS), default="test")
    parser.add_argument("--keep", type=Path, help="keep the corpus and index in this folder (a later run with the same folder updates that index)")
    parser.add_argument("--tests", choices=("rank", "equal"), default="rank",
                        help="rank tests, examples and docs below library code (search's default) or equally")
    parser.add_argument("--with-tests", action="store_true",
                        help="keep the packages' test folders in the corpus (queries still ask for library code)")
    parser.add_argument("--model", help="encoder to index with (default: the shipped minilm-code)")
    parser.add_argument("--reranker", help="re-ranker checkpoint (default: the shipped one, when installed)")
    parser.add_argument("--rerank-weights", default="", help="comma-separated re-ranker shares to score (default: "
                        "the re-ranker's own)")
    parser.add_argument("--dense-weights", default="", help="comma-separated fusion weights to score hybrid at")
    args = parser.parse_args()
    weights = tuple(float(w) for w in args.rerank_weights.split(",") if w)
    dense_weights = tuple(float(w) for w in args.dense_weights.split(",") if w)
    print(json.dumps(run(args.split, args.small, args.keep, args.tests, args.with_tests, args.model,
                         args.reranker, weights, dense_weights)))


if __name__ == "__main__":
    main()
