"""A non-neural trace baseline: the most frequent trace shape, filled by copying literals.

`fit` counts, per number of source lines, the sequences of executed line numbers of the
training traces. For a program, `predict` takes the most frequent sequence for its line count
(the overall most frequent one if that count was never seen) and writes at each step the
state built so far from simple assignments `name = <literal>` (the literal copied, tokenised
as CodeExecutor renders values); a name assigned anything else gets the most frequent state
value of the training traces. It never predicts output. It shows what structure and copying
alone give, below which a model has learned nothing about execution.
"""

from __future__ import annotations

import ast
from collections import Counter
from typing import Iterable

from tracer.format import ParsedStep, parse_codeexecutor, render_steps, tokenize_value


def _assignments(source: str) -> dict[int, tuple[str, str | None]]:
    """0-based line -> (name, tokenised literal value or None) for `name = expr` lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                value = tokenize_value(repr(ast.literal_eval(node.value)))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                value = None
            out[node.lineno - 1] = (node.targets[0].id, value)
    return out


def _line_count(source: str) -> int:
    return len(source.splitlines())


class ShapeBaseline:
    """Most frequent trace shape + copied literals; see the module docstring."""

    def __init__(self) -> None:
        self.shapes: dict[int, Counter] = {}
        self.overall: Counter = Counter()
        self.value = ""

    def fit(self, records: Iterable[dict]) -> "ShapeBaseline":
        """Learn shapes and the most frequent value from records with `source` and `trace_text`."""
        values: Counter = Counter()
        for r in records:
            steps = parse_codeexecutor(r["trace_text"])
            shape = tuple(s.line for s in steps if s.line is not None)
            self.shapes.setdefault(_line_count(r["source"]), Counter())[shape] += 1
            self.overall[shape] += 1
            values.update(v for s in steps for v in s.state.values())
        self.value = values.most_common(1)[0][0] if values else ""
        return self

    def predict(self, source: str) -> str:
        """The baseline's CodeExecutor trace text for `source`."""
        counts = self.shapes.get(_line_count(source)) or self.overall
        shape = counts.most_common(1)[0][0] if counts else ()
        assigned = _assignments(source)
        state: dict[str, str] = {}
        steps = []
        for line in shape:
            if line in assigned:
                name, value = assigned[line]
                state[name] = value if value is not None else self.value
            steps.append(ParsedStep(line, dict(state)))
        return render_steps(steps)
