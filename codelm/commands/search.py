"""Index a repository and search it (indexers/)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from codelm.errors import UsageError
from indexers.testpaths import TESTS_MODES

INDEX_HELP = """Indexes functions, methods and classes of every source file under PATH (Python,
JavaScript, TypeScript, Go, Java, Rust, C, C++, Ruby, PHP, C#, Bash). Respects .gitignore and
.codelmignore; skips .git, binary, non-UTF-8, minified, generated and vendored files
(node_modules, vendor, _vendor, vendored, extern, third_party, venvs, dist, build) and files over 1 MB, each counted with
its reason. Running it again re-embeds only what changed and drops deleted files. Several PATHs
make one index (each search result names its `root`); no PATH re-indexes the roots stored in
--index. An index written by an older codelm is upgraded in place, nothing re-embedded."""


def register(commands) -> None:
    """Add `index` and `search`."""
    p = commands.add("index", "index a repository for search", "codelm index . && codelm search \"parse a date\"",
                     run_index, description=INDEX_HELP)
    p.add_argument("path", nargs="*", help="the repository's directory; several make one index over all "
                                           "(each result names its root); none re-indexes the roots stored in --index")
    p.add_argument("--index", help="index directory (default: PATH/.codelm; needed with several PATHs; with no "
                                   "PATH, the nearest .codelm in the working directory or a folder above it)")
    p.add_argument("--model", help="encoder: 'minilm-code' (the default: MiniLM fine-tuned for code search, shipped), "
                                        "'minilm' (the stock all-MiniLM-L6-v2) or a checkpoint directory")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything (e.g. after changing --model)")
    p.add_argument("--reembed", action="store_true",
                   help="embed every unit again with the same model (e.g. vectors of an older codelm's runtime)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--exclude", action="append", metavar="PATTERN",
                   help="skip files matching this gitignore-style pattern (repeatable); stored with the "
                        "index and reused by later runs until given again (--exclude '' clears them)")
    p.add_argument("--include", action="append", metavar="PATTERN",
                   help="index only files matching this pattern (repeatable); stored like --exclude")
    p.add_argument("--watch", action="store_true",
                   help="after indexing, keep watching PATH and re-index changed files until Ctrl-C "
                        "(a running `codelm serve` picks the changes up)")
    p = commands.add("search", "search an index in plain English or by code",
                     "codelm search \"read the config file and merge defaults\" -k 5", run_search)
    p.add_argument("query", nargs="?", help="natural language or a code snippet")
    p.add_argument("--queries", help="file of queries: one a line, or JSONL with a \"query\" field")
    add_index_option(p)
    p.add_argument("-k", type=int, default=10, help="number of results")
    p.add_argument("--language", help="only units in this language (e.g. python)")
    p.add_argument("--tests", choices=TESTS_MODES, default="rank",
                   help="tests, examples, docs and benchmarks (test_*.py, tests/, examples/, docs/...): rank "
                        "them below library code, search them as any code (equal), or search only them")
    p.add_argument("--path", dest="path_glob", help="only units whose path matches this glob (e.g. 'src/*')")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--format", choices=("text", "json", "jsonl", "vimgrep"), default="text",
                   help="json: one result set a line (as --json); jsonl: one result a line; "
                        "vimgrep: path:line:col:name for editors' quickfix lists")
    p.add_argument("--no-snippet", dest="snippet", action="store_false",
                   help="text output: no code under each result (by default its first lines, coloured on a terminal)")
    p.add_argument("--threshold", type=float, help="drop results scoring below this")
    p.add_argument("--check", action="append", default=[], metavar="EXPR",
                   help="run the top results in a sandbox and rank first those for which this expression "
                        "holds, f standing for the candidate (repeatable), e.g. --check \"f('1h30m') == 5400\"")
    p.add_argument("--candidates", type=int, default=20, help="with --check: how many results to run (default 20)")
    p.add_argument("--budget", type=float, default=20.0, help="with --check: seconds for all the runs (default 20)")
    add_rerank_option(p)


def add_index_option(parser) -> None:
    """The `--index` option of every command that reads an index."""
    parser.add_argument("--index", help="index directory (default: the nearest .codelm in the working "
                                        "directory or a folder above it, as git finds .git)")


def add_rerank_option(parser) -> None:
    """`--reranker DIR` and `--no-rerank`, of search, serve and mcp."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--reranker", dest="rerank", metavar="DIR",
                       help="re-score the top 20 candidates with this re-ranker (a cross-encoder from `codelm train "
                            "rerank`, or a docstring model exported by codelm.tasks.search.likelihood)")
    group.add_argument("--no-rerank", dest="rerank", action="store_false",
                       help="rank by the hybrid (dense + BM25) score alone, also when a re-ranker is installed")


def rerank_choice(args: argparse.Namespace) -> bool | str | None:
    """A re-ranker directory (--reranker), False (--no-rerank), or None: the shipped re-ranker
    when one is installed."""
    return getattr(args, "rerank", None)


def index_dir(args: argparse.Namespace) -> Path:
    """The index a command reads: --index when given, else the nearest .codelm upward."""
    from indexers.store import find_index

    return Path(args.index) if args.index else find_index()


def run_index(args: argparse.Namespace) -> int:
    from indexers.index import build_index

    if len(args.path) > 1 and not args.index:
        raise UsageError("give --index DIR: where the index of several repositories goes")
    if not args.path and not args.index:  # update the index of the repository we are in
        args.index = str(index_dir(args))
    report = build_index(args.path, args.index, args.model, rebuild=args.rebuild, progress=True,
                         exclude=_patterns(args.exclude), include=_patterns(args.include),
                         reembed=args.reembed)
    from indexers import rerank

    if rerank.available():  # its one-time export now, not on a search
        rerank.load_reranker()
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"indexed {report.files} files, {report.units} units ({report.embedded} embedded) "
              f"in {report.seconds:.1f}s; skipped {len(report.skipped)} files")
    if args.watch:
        _watch(args)
    return 0


def _watch(args: argparse.Namespace) -> None:
    """Re-index on every change until interrupted; one line on stderr per update."""
    from indexers.watch import watch

    print(f"watching {', '.join(args.path) or 'the indexed roots'} (Ctrl-C to stop)", file=sys.stderr)
    try:
        watch(args.path, args.index, args.model,
              on_update=lambda r: print(f"re-indexed: {r.units} units ({r.embedded} embedded) in "
                                        f"{r.seconds:.1f}s", file=sys.stderr, flush=True),
              on_error=lambda err: print(f"error: {err}", file=sys.stderr, flush=True))
    except KeyboardInterrupt:
        pass


def _patterns(given: list[str] | None) -> list[str] | None:
    """None (reuse the stored patterns) when not given; else the non-empty patterns."""
    return None if given is None else [p for p in given if p.strip()]


def read_queries(path: str) -> list[str]:
    """Queries of a text file (one a line) or JSONL file (objects with "query")."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read queries from {path}: {err}") from err
    queries = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                queries.append(str(json.loads(line)["query"]))
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise UsageError(f"{path}:{n}: expected a JSON object with a \"query\" field") from err
        else:
            queries.append(line.strip())
    return queries


def run_search(args: argparse.Namespace) -> int:
    from codelm.tasks.search.query import search
    from indexers.search import open_searcher

    if (args.query is None) == (args.queries is None):
        raise UsageError("give a QUERY or --queries FILE (one of them)")
    if args.k < 1:
        raise UsageError("-k must be at least 1")
    if args.check:
        from codelm.tasks.search.verified import make_plan

        make_plan(args.check, args.candidates, args.budget)  # usage errors before the index opens
    queries = read_queries(args.queries) if args.queries else [args.query]
    searcher = open_searcher(index_dir(args), rerank_choice(args))
    several_roots = len(searcher.meta.get("roots") or []) > 1
    for query in queries:
        found = search(searcher, query, args.k, args.language, args.path_glob, args.check or (),
                       args.candidates, args.budget, args.tests)
        if args.threshold is not None:
            found["results"] = [r for r in found["results"] if r["score"] >= args.threshold]
        if args.format == "vimgrep":
            for r in found["results"]:
                print(f"{_shown(r, several_roots)}:{r['start_line']}:1:{r['name']}")
        elif args.format == "jsonl":
            for r in found["results"]:
                print(json.dumps({"query": query, **r}), flush=True)
        elif args.json or args.queries or args.format == "json":
            print(json.dumps(found), flush=True)
        else:
            print_text(searcher, found, args, several_roots)
    return 0


def print_text(searcher, found: dict, args: argparse.Namespace, several_roots: bool) -> None:
    """Results for a reader: one line each (path:lines  name  (kind, score)), a snippet of the
    code under it unless --no-snippet; with --check, each result's checks."""
    from codelm.commands.show import color_output
    from codelm.tasks.search.show import result_snippet

    color = color_output()
    for r in found["results"]:
        print(f"{_shown(r, several_roots)}:{r['start_line']}-{r['end_line']}  {r['name']}  ({r['kind']}, {r['score']:.3f})"
              f"{_check_mark(r) if args.check else ''}")
        unit = searcher.unit(r["id"]) if args.snippet else None
        if unit is not None:
            print(result_snippet(unit, color), end="\n\n", flush=True)
    if "candidates" in found:
        print(_candidates_line(found["candidates"]), file=sys.stderr)


def _check_mark(result: dict) -> str:
    """`[2/3 checks]` for a result whose checks ran, `[not run: why]` for one never run."""
    if result.get("unchecked"):
        return f"  [not run: {result['unchecked']}]"
    return f"  [{result['checks_passed']}/{result['checks_total']} checks]"


def _candidates_line(counts: dict) -> str:
    """What the checks ran on, in numbers that add up to --candidates."""
    line = f"checks ran on {counts['run']} of {counts['asked']} candidates (--candidates)"
    if counts["not_run"]:
        line += f"; {counts['not_run']} candidates not run (budget or import error)"
    if counts["passed_over"]:
        line += f"; {counts['passed_over']} results passed over: they cannot take the calls"
    return line + (" (--json lists why)" if counts["not_run"] or counts["passed_over"] else "")


def _shown(result: dict, several_roots: bool) -> str:
    """The path printed for editors and readers: relative to the root, or with its root when
    the index has several (so that the file can be opened)."""
    return str(Path(result["root"]) / result["path"]) if several_roots and result.get("root") else result["path"]
