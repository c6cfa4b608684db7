"""Execution-verified search: run the user's checks on the top search results, in the sandbox.

`verified_search(searcher, query, checks)` composes the two halves that never know each other:
`indexers.search` finds candidates, `tracer.checks` (run by `tracer.sandbox`) imports each one
in a sandboxed child and evaluates the checks, `f` standing for the candidate. Candidates that
pass every check come first (`"verified": true`), then partial passes, then the rest in search
order. Signatures are matched against the calls of `f` before anything runs (`codelm.tasks.search.signatures`).
Candidates from one file share a child (one import); a thread pool runs the children in parallel.
"""

from __future__ import annotations

import ast
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codelm.errors import CodelmError, UsageError
from codelm.tasks.search.signatures import Calls, calls_of_f, signature_problem


RESULTS_PER_CANDIDATE = 5  # search results read per candidate: candidates are the first that can take the call
NOT_A_CANDIDATE = "not among the candidates"  # the reason of results after the last candidate


@dataclass
class CheckPlan:
    """What runs: the checks, the calls they make of `f`, and the limits."""

    checks: list[str]
    calls: Calls = field(default_factory=list)
    candidates: int = 20           # how many search results to consider
    budget_s: float = 20.0         # the whole verification, wall clock
    candidate_s: float = 5.0       # one candidate: import plus every check (wall clock)
    check_s: float = 1.0           # one check
    memory_mb: int = 512           # one child's address space (an endless list fails at it)
    workers: int = 0               # parallel children; 0: the number of cores, at least 2


def parse_checks(checks: list[str]) -> Calls:
    """The calls of `f` in the checks; UsageError when a check is not one expression using `f`."""
    calls: Calls = []
    for check in checks:
        try:
            tree = ast.parse(check.strip(), mode="eval")
        except SyntaxError as err:
            raise UsageError(f"--check {check!r} is not a Python expression ({err.msg}): write one "
                             f"expression using f, e.g. --check \"f('1h30m') == 5400\"") from None
        if not any(isinstance(n, ast.Name) and n.id == "f" for n in ast.walk(tree)):
            raise UsageError(f"--check {check!r} does not use f: f stands for the candidate function, "
                             f"e.g. --check \"f([3, 1]) == [1, 3]\"")
        calls += calls_of_f(tree)
    return calls


def make_plan(checks: list[str], candidates: int = 20, budget: float = 20.0) -> CheckPlan:
    """The plan for these checks and options; UsageError for anything wrong, before anything runs."""
    if candidates < 1 or budget <= 0:
        raise UsageError("--candidates must be at least 1 and --budget above 0 (seconds)")
    return CheckPlan(checks=[c.strip() for c in checks], calls=parse_checks(checks),
                     candidates=candidates, budget_s=budget)


def _unchecked(result: dict, reason: str) -> dict:
    return {**result, "verified": False, "checks_passed": 0, "unchecked": reason}


def _outcome(result: dict, sent: dict, cut: str | None, plan: CheckPlan) -> dict:
    """One candidate's entry from what its child sent (`cut`: why the run stopped in it)."""
    outcomes = sent.get("checks") or []
    error = sent.get("error") or cut or "no result"
    if not sent.get("loaded"):
        return _unchecked(result, error)
    failures = [{"check": c, **{k: v for k, v in o.items() if k != "passed"}}
                for c, o in zip(plan.checks, outcomes) if not o.get("passed")]
    failures += [{"check": c, "error": error} for c in plan.checks[len(outcomes):]]
    passed = sum(bool(o.get("passed")) for o in outcomes)
    out = {**result, "verified": passed == len(plan.checks), "checks_passed": passed}
    return {**out, "failures": failures} if failures else out


def _run_batch(root: Path, batch: list[dict], plan: CheckPlan, deadline: float) -> list[dict]:
    """Check candidates of one module in one child; after a child is cut short (refused
    operation, wall clock), the candidates it did not reach go to a fresh child."""
    from tracer.sandbox import Limits, run_in_sandbox

    out: list[dict] = []
    while len(out) < len(batch):
        pending = batch[len(out):]
        remaining = deadline - time.monotonic()
        if remaining < 0.2:
            return out + [_unchecked(r, "budget ran out") for r in pending]
        limits = Limits(timeout_s=min(plan.candidate_s * len(pending), remaining), memory_mb=plan.memory_mb)
        payload = {"root": str(root), "checks": plan.checks, "check_timeout_s": min(plan.check_s, limits.timeout_s),
                   "candidates": [{k: r[k] for k in ("path", "name", "kind")} for r in pending]}
        run = run_in_sandbox("tracer.checks:run_checks", payload, limits)
        value = run.value if isinstance(run.value, dict) else {}
        sent = [s for s in value.get("results") or [] if isinstance(s, dict)][:len(pending)] or [{}]
        cut = value.get("cut") or (run.error if run.status != "ok" else None)
        if cut and run.status == "timeout" and limits.timeout_s < plan.candidate_s * len(pending):
            cut = f"budget ran out ({cut})"
        out += [_outcome(r, s, cut if n == len(sent) - 1 else None, plan)
                for n, (r, s) in enumerate(zip(pending, sent))]
    return out


def _batches(results: list[dict], todo: list[int], workers: int) -> list[list[int]]:
    """Candidates grouped by file (one import per child), split so that all workers get work."""
    by_path: dict[tuple[str, str], list[int]] = {}
    for i in todo:
        by_path.setdefault((results[i].get("root", ""), results[i]["path"]), []).append(i)
    size = max(1, -(-len(todo) // workers))
    return [group[n:n + size] for group in by_path.values() for n in range(0, len(group), size)]


def root_of(result: dict, default: Path) -> Path:
    """The repository a result comes from: its own `root` (indexes of several roots), else `default`."""
    return Path(result.get("root") or default)


def select_candidates(root: Path, results: list[dict], plan: CheckPlan) -> tuple[list[int], dict[int, str]]:
    """The indices of the first `plan.candidates` results that can take the calls of `f`, and
    why each result before the last of them cannot (not a function, signature mismatch...)."""
    trees: dict[Path, dict[str, ast.Module | str]] = {}
    todo: list[int] = []
    skipped: dict[int, str] = {}
    for i, result in enumerate(results):
        if len(todo) == plan.candidates:
            break
        own = root_of(result, root)
        problem = signature_problem(own, result, plan.calls, trees.setdefault(own, {}))
        if problem:
            skipped[i] = problem
        else:
            todo.append(i)
    return todo, skipped


def check_candidates(root: str | Path, results: list[dict], plan: CheckPlan,
                     selection: tuple[list[int], dict[int, str]] | None = None) -> list[dict]:
    """Run the checks on the first `plan.candidates` results that can take the calls (see
    `select_candidates`) and return every result re-ranked, each with `verified`, `checks_passed`, `checks_total` and
    `failures` (check, and the value `returned` or the `error`) or `unchecked` (the reason).
    Each result runs in its own `root` when it names one (an index of several roots), else in `root`.
    `selection`: what `select_candidates` returned, when the caller has it."""
    root = Path(root)
    deadline = time.monotonic() + plan.budget_s
    todo, skipped = selection or select_candidates(root, results, plan)
    out = [_unchecked(r, skipped.get(i, NOT_A_CANDIDATE)) for i, r in enumerate(results)]
    workers = plan.workers or max(2, os.cpu_count() or 2)
    batches = _batches(results, todo, workers)
    if batches:
        with ThreadPoolExecutor(max_workers=min(workers, len(batches))) as pool:
            done = pool.map(lambda b: _run_batch(root_of(results[b[0]], root), [results[i] for i in b], plan, deadline),
                            batches)
            for batch, checked in zip(batches, done):
                for i, entry in zip(batch, checked):
                    out[i] = entry
    for r in out:
        r["checks_total"] = len(plan.checks)
    order = sorted(range(len(out)), key=lambda i: (not out[i]["verified"], -out[i]["checks_passed"], i))
    return [out[i] for i in order]


def verified_search(searcher: Any, query: str, checks: list[str], k: int = 10, candidates: int = 20,
                    budget: float = 20.0, language: str | None = None, path_glob: str | None = None,
                    tests: str = "rank") -> dict:
    """Search, then verify: `{"query", "results": [... k re-ranked results], "unchecked":
    [{"path", "name", "reason"}], "candidates": {...}}` (results carry the fields of `check_candidates`).

    "unchecked" lists the results that were not run, other than those after the last candidate:
    the results passed over because they cannot take the calls (a signature mismatch, a nested
    function...) and the candidates the run did not reach. "candidates" counts them apart, so
    that they add up to --candidates: `{"asked": --candidates, "run", "not_run": candidates not
    reached (budget, import error), "passed_over": results before them that cannot take the calls}`."""
    plan = make_plan(checks, candidates, budget)
    roots = searcher.meta.get("roots") or []
    if not roots:
        raise CodelmError("the index does not record its repository's root: re-index with `codelm index PATH`")
    results = searcher.search(query, max(k, RESULTS_PER_CANDIDATE * candidates), language, path_glob, tests=tests)
    selection = select_candidates(Path(roots[0]), results, plan)
    ranked = check_candidates(roots[0], results, plan, selection)
    unchecked = [{"path": r["path"], "name": r["name"], "reason": r["unchecked"]}
                 for r in ranked if r.get("unchecked") and r["unchecked"] != NOT_A_CANDIDATE]
    run = sum("unchecked" not in r for r in ranked)
    counts = {"asked": plan.candidates, "run": run, "not_run": len(selection[0]) - run, "passed_over": len(selection[1])}
    return {"query": query, "results": ranked[:k], "unchecked": unchecked, "candidates": counts}
