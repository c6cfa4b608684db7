"""The readable listing of a trace: one row per executed line, for people (not a data format).

     line  function        source                  changes
        1  <module>        total = 0               total = 0
        5  <module>        print(add(2, 3))
        2    add               s = a + b           a = 2, b = 3, s = 5
           > 5
    status: ok

A row shows the line number (1-based, as editors and tracebacks count), the function the line
runs in indented two spaces per call depth, the source line with its own indentation, and the
locals that changed since that frame's previous row (all of them on a call's first row). What
the line printed follows on `>` rows, an exception the program raised on a `!` row after the
last row, then the status. Columns wider than their cap are cut with `…`, never silently;
values were already cut by the recorder (`...`).

CPython reports two line events for a `class` statement, in two frames: the module's (building
the class) and the class body's first (its hidden `__module__` and `__qualname__` bindings, on
the `class` line or its first decorator). The listing drops the second; the JSON keeps both.
"""

from __future__ import annotations

import re

from tracer.schema import Step, Trace

FUNCTION_WIDTH = 24  # widest function column (depth indentation included)
SOURCE_WIDTH = 48    # widest source column
_CLASS = re.compile(r"\s*class\s+(\w+)")


def cut(text: str, width: int) -> str:
    """`text` in at most `width` characters, ending in `…` when something was cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def listing(trace: Trace, source: str, header: bool = False, hint: str | None = None) -> str:
    """The listing of `trace` of the program `source`; `header`: start with `== path ==`;
    `hint`: said after the status (what to do about it)."""
    lines = source.expandtabs().splitlines()
    steps = [s for i, s in enumerate(trace.steps) if not (i and class_prologue(s, trace.steps[i - 1], lines))]
    code = [lines[s.line - 1].rstrip() if 0 < s.line <= len(lines) else "" for s in steps]
    where = [("  " * (s.depth or 0)) + (s.function or "") for s in steps]
    fw = min(max([len("function"), *map(len, where)]), FUNCTION_WIDTH)
    sw = min(max([len("source"), *map(len, code)]), SOURCE_WIDTH)
    out = [f"== {trace.path} =="] if header else []
    if steps:
        out.append(f" line  {'function':<{fw}}  {'source':<{sw}}  changes".rstrip())
    frames: dict[int, Step] = {}  # depth -> the last row of the frame there
    for step, text, func in zip(steps, code, where):
        out.append(f"{step.line:>5}  {cut(func, fw):<{fw}}  {cut(text, sw):<{sw}}  {changes(step, frames)}".rstrip())
        out.extend(f"       > {printed}" for printed in step.output.splitlines())
    if trace.status == "exception" and trace.error:
        out.append(f"       ! {trace.error}")
    end = f"status: {trace.status}" + (f" ({trace.error})" if trace.error else "")
    end += " [truncated]" if trace.truncated else ""
    out.append(end + (f"; {hint}" if hint else ""))
    return "\n".join(out)


def class_prologue(step: Step, before: Step, lines: list[str]) -> bool:
    """Whether `step` is a class body's first line event (its hidden bindings), just entered."""
    if step.depth is None or before.depth is None or step.depth != before.depth + 1 or step.state:
        return False
    for text in lines[step.line - 1:step.line + 20]:  # the `class` line, or decorators before it
        if (match := _CLASS.match(text)) is not None:
            return (step.function or "").rsplit(".", 1)[-1] == match.group(1)
        if not text.lstrip().startswith("@"):
            return False
    return False


def changes(step: Step, frames: dict[int, Step]) -> str:
    """`name = value` for each local that changed since the previous row of the step's frame
    (`frames`: depth -> last row there, updated: deeper frames have returned)."""
    depth = step.depth or 0
    for deeper in [d for d in frames if d > depth]:
        del frames[deeper]
    last = frames.get(depth)
    before = last.state if last is not None and last.function == step.function else {}
    frames[depth] = step
    return ", ".join(f"{k} = {v}" for k, v in step.state.items() if before.get(k) != v)
