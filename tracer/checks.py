"""Sandbox entry: import one candidate function from a repository and evaluate checks on it.

`run_in_sandbox("tracer.checks:run_checks", payload, limits)` with `payload = {"root",
"candidates": [{"path", "name", "kind"}], "checks", "check_timeout_s"}`: the repository's root
goes on `sys.path`; for each candidate in turn its module is imported by its file path (import
side effects stay in the sandbox), `f` is bound to the function (a method: to a fresh instance
of its class, built without arguments) and every check, a Python expression using `f`, is
evaluated under its own time limit (after a time-out or a MemoryError the candidate's other
checks are skipped).
Returns `{"results": [{"error": None | str, "loaded": bool, "checks": [{"passed", "returned" |
"error"}]}], "cut": None}`; when the run is cut short (a refused operation, the wall-clock
limit), the results so far come back, the last one partial, with the reason in `cut`.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import operator
import signal
import sys
from pathlib import Path
from typing import Any

from tracer import sandbox_child

MAX_SHOWN = 200  # longest repr or exception line sent back
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


class CheckTimeout(BaseException):
    """A check ran past its time limit (BaseException: candidate code rarely catches it)."""


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def package_root(root: Path, file: Path) -> tuple[Path, str]:
    """The sys.path entry and dotted module name of `file`: climb while folders are packages."""
    base, parts = file.parent, [] if file.stem == "__init__" else [file.stem]
    while (base / "__init__.py").exists() and (base == root or root in base.parents):
        parts.insert(0, base.name)
        base = base.parent
    return base, ".".join(parts)


def import_file(root: Path, path: str):
    """Import the module at `root/path` under its package name (relative imports work)."""
    root = root.resolve()
    file = (root / path).resolve()
    base, name = package_root(root, file)
    for entry in (str(root), str(base)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    if name and all(part.isidentifier() for part in name.split(".")):
        module = importlib.import_module(name)
        if Path(getattr(module, "__file__", "") or "").resolve() == file:
            return module  # else the name is taken (standard library, this sandbox's own packages)
    spec = importlib.util.spec_from_file_location("candidate", file)
    module = importlib.util.module_from_spec(spec)
    sys.modules["candidate"] = module
    spec.loader.exec_module(module)
    return module


def bind(module: Any, name: str, kind: str) -> Any:
    """The callable named `name` in `module`; for a method, bound to `Class()`."""
    parts = name.split(".")
    owner = module
    for part in parts[:-1]:
        owner = getattr(owner, part)
    if kind == "method":
        try:
            owner = owner()
        except Exception as err:  # noqa: BLE001 - any failure means: cannot build it
            raise LookupError(f"class {'.'.join(parts[:-1])} cannot be built without arguments "
                              f"({type(err).__name__})") from None
    return getattr(owner, parts[-1])


def evaluate(check: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one check; a comparison reports the value of its left side when it fails."""
    tree = ast.parse(check, mode="eval").body
    run = lambda node: eval(compile(ast.Expression(node), "<check>", "eval"), namespace)  # noqa: E731
    if isinstance(tree, ast.Compare) and all(type(op) in _COMPARE for op in tree.ops):
        left = shown = run(tree.left)
        passed = True
        for op, node in zip(tree.ops, tree.comparators):
            right = run(node)
            passed = bool(_COMPARE[type(op)](left, right))
            if not passed:
                break
            left = right
    else:
        shown = run(tree)
        passed = bool(shown)
    return {"passed": True} if passed else {"passed": False, "returned": shorten(repr(shown))}


def _on_alarm(signum: int, frame: Any) -> None:
    raise CheckTimeout


def check_one(root: Path, candidate: dict[str, Any], checks: list[str], limit: float,
              into: dict[str, Any]) -> None:
    """Bind one candidate and evaluate the checks, filling `into` as it goes (an abort sends it)."""
    try:
        func = bind(import_file(root, candidate["path"]), candidate["name"], candidate["kind"])
    except BaseException as err:  # noqa: BLE001 - the candidate's module may raise anything
        into["error"] = shorten(f"cannot load the candidate: {type(err).__name__}: {err}")
        return
    if not callable(func):
        into["error"] = f"{candidate['name']} is not callable"
        return
    into["loaded"] = True
    for check in checks:
        if into["checks"] and into["checks"][-1].get("spent"):
            into["checks"].append({"passed": False, "error": "not run: an earlier check ran out of time or memory"})
            continue
        try:
            signal.setitimer(signal.ITIMER_REAL, limit)
            try:
                outcome = evaluate(check, {"f": func, "__builtins__": builtins})
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except CheckTimeout:
            outcome = {"passed": False, "error": f"time limit of {limit:g} s reached", "spent": True}
        except MemoryError:
            outcome = {"passed": False, "error": "MemoryError: the memory limit was reached", "spent": True}
        except RecursionError:
            outcome = {"passed": False, "error": "RecursionError: maximum recursion depth exceeded"}
        except BaseException as err:  # noqa: BLE001 - MemoryError, SystemExit, anything raised
            outcome = {"passed": False, "error": shorten(f"{type(err).__name__}: {err}")}
        into["checks"].append(outcome)
    for outcome in into["checks"]:
        outcome.pop("spent", None)


def run_checks(payload: dict[str, Any]) -> dict[str, Any]:
    """Check every candidate in turn (see the module docstring)."""
    results: list[dict[str, Any]] = []
    sandbox_child.set_abort_handler(lambda status, error: {"results": results, "cut": error})
    signal.signal(signal.SIGALRM, _on_alarm)
    for candidate in payload["candidates"]:
        results.append({"error": None, "loaded": False, "checks": []})
        check_one(Path(payload["root"]), candidate, payload["checks"], float(payload["check_timeout_s"]),
                  results[-1])
    return {"results": results, "cut": None}
