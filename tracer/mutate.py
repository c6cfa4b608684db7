"""MutPy-style mutation operators on `ast`, the ones CodeExecutor used to grow its datasets.

Each mutant changes exactly one site of the program:

    AOR  arithmetic operator replacement: + <-> -, * -> / // **, / -> * //, // -> * /,
         % -> *, ** -> *, unary - <-> + (not inside augmented assignments)
    AOD  arithmetic operator deletion: -x, +x -> x
    ASR  assignment operator replacement: the AOR table on augmented assignments (+= -> -= ...)
    BCR  break <-> continue
    COD  conditional operator deletion: not x -> x, `not in` -> `in`
    CRP  constant replacement: a number n -> n + 1; a string -> 'mutpy' ('python' if it was
         'mutpy'), and a non-empty string -> '' (docstrings left alone)
    LCR  logical connector replacement: and <-> or
    ROR  relational operator replacement: < -> > <=, > -> < >=, <= -> >= <, >= -> <= >, == <-> !=
    SIR  slice index removal: drop the lower bound, the upper bound or the step of a slice
    OIL  one iteration loop: `break` appended to a for/while body
    RIL  reverse iteration loop: `for x in xs` -> `for x in reversed(xs)`
    ZIL  zero iteration loop: a for/while body replaced by `break`

`mutants()` is deterministic: sites are visited in `ast.walk` order, operators in the order
given; with `limit`, a seeded sample of the sites is made (cheaply, before any mutant is
built) and kept in that same order. Mutants whose text repeats one already made are dropped.
"""

from __future__ import annotations

import ast
import copy
import random
from collections import deque
from dataclasses import dataclass
from typing import Callable, Iterator

from tracer.schema import Trace

ARITH = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.FloorDiv, ast.Pow],
         ast.Div: [ast.Mult, ast.FloorDiv], ast.FloorDiv: [ast.Mult, ast.Div],
         ast.Mod: [ast.Mult], ast.Pow: [ast.Mult]}
RELATIONAL = {ast.Lt: [ast.Gt, ast.LtE], ast.Gt: [ast.Lt, ast.GtE], ast.LtE: [ast.GtE, ast.Lt],
              ast.GtE: [ast.LtE, ast.Gt], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq]}


@dataclass(frozen=True)
class Mutant:
    """One mutated program: the operator, the 1-based line it changed and the new source."""

    op: str
    line: int
    source: str


# An edit changes one node in place; it is always applied to a fresh copy of the tree, so each
# mutant carries exactly one change.
Edit = Callable[[ast.AST], None]


def _sites(op: str, node: ast.AST, parent: ast.AST | None) -> Iterator[Edit]:
    """The edits operator `op` can make at `node` (whose parent is `parent`)."""
    if op in ("AOR", "ASR") and isinstance(node, (ast.BinOp, ast.AugAssign)):
        if (op == "ASR") == isinstance(node, ast.AugAssign):
            for new in ARITH.get(type(node.op), []):
                yield lambda n, new=new: setattr(n, "op", new())
    elif op == "AOR" and isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        yield lambda n: setattr(n, "op", ast.USub() if isinstance(n.op, ast.UAdd) else ast.UAdd())
    elif op == "AOD" and isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        yield _delete_unary
    elif op == "COD" and isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield _delete_unary
    elif op == "COD" and isinstance(node, ast.Compare):
        for i, cmp in enumerate(node.ops):
            if isinstance(cmp, ast.NotIn):
                yield lambda n, i=i: n.ops.__setitem__(i, ast.In())
    elif op == "ROR" and isinstance(node, ast.Compare):
        for i, cmp in enumerate(node.ops):
            for new in RELATIONAL.get(type(cmp), []):
                yield lambda n, i=i, new=new: n.ops.__setitem__(i, new())
    elif op == "LCR" and isinstance(node, ast.BoolOp):
        yield lambda n: setattr(n, "op", ast.Or() if isinstance(n.op, ast.And) else ast.And())
    elif op == "BCR" and isinstance(node, (ast.Break, ast.Continue)):
        yield lambda n: setattr(n, "__class__", ast.Continue if isinstance(n, ast.Break) else ast.Break)
    elif op == "CRP" and isinstance(node, ast.Constant) and not _is_docstring(node, parent):
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield lambda n: setattr(n, "value", n.value + 1)
        elif isinstance(value, str):
            yield lambda n: setattr(n, "value", "python" if n.value == "mutpy" else "mutpy")
            if value:
                yield lambda n: setattr(n, "value", "")
    elif op == "SIR" and isinstance(node, ast.Slice):
        for part in ("lower", "upper", "step"):
            if getattr(node, part) is not None:
                yield lambda n, part=part: setattr(n, part, None)
    elif op in ("OIL", "ZIL") and isinstance(node, (ast.For, ast.While)):
        yield _one_iteration if op == "OIL" else _zero_iteration
    elif op == "RIL" and isinstance(node, ast.For):
        yield lambda n: setattr(n, "iter", ast.Call(ast.Name("reversed", ast.Load()), [n.iter], []))


OPERATORS = ("AOR", "AOD", "ASR", "BCR", "COD", "CRP", "LCR", "ROR", "SIR", "OIL", "RIL", "ZIL")


def _delete_unary(node: ast.UnaryOp) -> None:
    # turn the node into its operand, keeping its identity so the parent needs no edit
    operand = node.operand
    node.__class__ = operand.__class__
    node.__dict__.clear()
    node.__dict__.update(operand.__dict__)


def _one_iteration(node: ast.For | ast.While) -> None:
    node.body.append(ast.Break())


def _zero_iteration(node: ast.For | ast.While) -> None:
    node.body = [ast.Break()]


def _is_docstring(node: ast.Constant, parent: ast.AST | None) -> bool:
    # a string standing alone as a statement: docstrings (and strings used as comments)
    return isinstance(parent, ast.Expr) and isinstance(node.value, str)


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """Every node with its parent, in `ast.walk` (breadth-first) order."""
    todo: deque[tuple[ast.AST, ast.AST | None]] = deque([(tree, None)])
    while todo:
        node, parent = todo.popleft()
        yield node, parent
        todo.extend((child, node) for child in ast.iter_child_nodes(node))


def keep_mutant(original: Trace, mutant: Trace) -> bool:
    """CodeExecutor's filter: keep a mutant that runs to completion and behaves differently:
    prints something else, or (when neither prints) steps through other lines or states."""
    if mutant.status != "ok" or mutant.truncated:
        return False
    if original.stdout or mutant.stdout:
        return mutant.stdout != original.stdout
    return [s.to_json() for s in mutant.steps] != [s.to_json() for s in original.steps]


def mutants(source: str, operators: tuple[str, ...] | list[str] = OPERATORS, limit: int | None = None,
            seed: int = 0) -> list[Mutant]:
    """Every single-site mutant of `source` under `operators` (sources from `ast.unparse`,
    each parses and differs from the original's unparse); `limit` mutates only a seeded
    sample of that many sites. A source that does not parse has no mutants."""
    unknown = set(operators) - set(OPERATORS)
    if unknown:
        raise ValueError(f"unknown mutation operators {sorted(unknown)}; choose from {', '.join(OPERATORS)}")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    baseline = ast.unparse(tree)
    sites = [(op, index, k) for index, (node, parent) in enumerate(_walk(tree))
             for op in operators for k, _ in enumerate(_sites(op, node, parent))]
    if limit is not None and len(sites) > limit:
        sites = [sites[i] for i in sorted(random.Random(seed).sample(range(len(sites)), limit))]
    out: list[Mutant] = []
    seen = {baseline}
    for op, index, k in sites:
        copy_tree = copy.deepcopy(tree)
        node, parent = next(item for i, item in enumerate(_walk(copy_tree)) if i == index)
        line = getattr(node, "lineno", 0)
        list(_sites(op, node, parent))[k](node)
        text = ast.unparse(ast.fix_missing_locations(copy_tree))
        if text not in seen:
            seen.add(text)
            out.append(Mutant(op, line, text))
    return out
