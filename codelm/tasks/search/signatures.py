"""Whether a Python function can take the calls a check makes of `f`, decided from the AST.

Cheap and run before any candidate code: the calls are read from the checks (`calls_of_f`),
the candidate's `def` from its file on disk (`signature_problem`), and a candidate is skipped
with a reason when it is not a function, is nested in a function, or cannot bind the arguments.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Call:
    """One call `f(...)`: positional count, keyword names, and whether `*`/`**` hide more."""

    positional: int
    keywords: frozenset[str]
    starred: bool


Calls = list[Call]
KEEP_SIGNATURE = {"staticmethod", "classmethod", "lru_cache", "cache", "abstractmethod", "overload"}


def calls_of_f(tree: ast.AST) -> Calls:
    """Every direct call of the name `f` in a parsed check."""
    return [Call(positional=sum(not isinstance(a, ast.Starred) for a in node.args),
                 keywords=frozenset(k.arg for k in node.keywords if k.arg),
                 starred=any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords))
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "f"]


def _find(body: list[ast.stmt], name: str) -> ast.AST | None:
    """The def or class called `name` in `body`, looking into if/try/with blocks too."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            found = node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            found = _find([*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                           *[s for h in getattr(node, "handlers", []) for s in h.body]], name)
        else:
            continue
        if found is not None:
            return found
    return None


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {d.id if isinstance(d, ast.Name) else d.attr if isinstance(d, ast.Attribute) else ""
            for d in node.decorator_list}


def fits(args: ast.arguments, call: Call, drop_first: bool) -> str | None:
    """Why `call` cannot bind to these parameters, or None when it can."""
    positional = [a.arg for a in [*args.posonlyargs, *args.args]][int(drop_first):]
    posonly = {a.arg for a in args.posonlyargs}
    required = positional[:len(positional) - len(args.defaults)] if args.defaults else positional
    if call.starred:
        return None
    if call.positional > len(positional) and args.vararg is None:
        return f"takes at most {len(positional)} positional arguments, the check gives {call.positional}"
    by_keyword = (set(positional[call.positional:]) - posonly) | {a.arg for a in args.kwonlyargs}
    for name in sorted(call.keywords):
        if name not in by_keyword and args.kwarg is None:
            return f"has no parameter {name!r} for the check's keyword argument"
    missing = [n for n in required[call.positional:] if n not in call.keywords]
    missing += [a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None and a.arg not in call.keywords]
    return f"needs {', '.join(missing)}, which the check does not give" if missing else None


def signature_problem(root: Path, result: dict, calls: Calls, trees: dict[str, ast.Module | str]) -> str | None:
    """Why this search result cannot be checked (None: it can). `trees` caches parsed files."""
    if result.get("language") != "python" or result.get("kind") not in ("function", "method"):
        return "not a Python function"
    path = result["path"]
    if path not in trees:
        try:
            trees[path] = ast.parse((root / path).read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as err:
            trees[path] = f"cannot read {path}: {type(err).__name__}"
    tree = trees[path]
    if isinstance(tree, str):
        return tree
    node: ast.AST | None = tree
    for depth, part in enumerate(result["name"].split(".")):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return "nested in a function: cannot be called on its own"
        node = _find(node.body, part)
        if node is None:
            return f"{result['name']} not found in {path} (re-index?)"
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "not a function"
    if isinstance(node, ast.AsyncFunctionDef):
        return "an async function: checks call plain functions"
    decorators = _decorators(node)
    if result["kind"] == "method" and decorators & {"property", "setter", "cached_property"}:
        return "a property, not a callable method"
    if decorators - KEEP_SIGNATURE:
        return None  # another decorator may change the signature: let the run decide
    drop_first = result["kind"] == "method" and "staticmethod" not in decorators
    for call in calls:
        problem = fits(node.args, call, drop_first)
        if problem:
            return f"signature mismatch: {problem}"
    return None
