"""Trace a Python program: run it in the sandbox and record every line it executes.

    >>> trace_source("x = 1\\nx += 2\\n").steps[1].state
    {'x': '3'}

The record is `tracer.schema.Trace`; docs/traces.md specifies its JSON. The child side lives in
`tracer.recorder` (what a step and a state are), the limits in `tracer.sandbox.Limits`.
"""

from __future__ import annotations

import os
import tokenize
from io import BytesIO
from itertools import chain, repeat
from pathlib import Path

from tracer.sandbox import Limits, gc_paused, run_in_sandbox
from tracer.schema import Step, Trace


def trace_file(path: str | Path, stdin: str = "", limits: Limits | None = None) -> Trace:
    """Trace the program in `path` (its own encoding per PEP 263, UTF-8 by default)."""
    data = Path(path).read_bytes()
    try:
        source = decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as err:
        return Trace(str(path), "syntax_error",
                     error=f"SyntaxError: {path} is not valid source text ({err}); save it as UTF-8 "
                           "or declare its encoding in a PEP 263 comment")
    return trace_source(source, str(path), stdin, limits)


def decode_source(data: bytes) -> str:
    """Decode Python source bytes as the interpreter would (BOM, coding comment, else UTF-8)."""
    encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
    return data.decode(encoding)


def trace_source(source: str, path: str = "prog.py", stdin: str = "", limits: Limits | None = None) -> Trace:
    """Trace `source` as if it were the file `path` (run as `__main__`, its directory first on
    `sys.path`, in a fresh temporary working directory); `stdin` is its whole standard input."""
    limits = limits or Limits()
    filename = os.path.abspath(path)
    payload = {"source": source, "filename": filename, "directory": os.path.dirname(filename),
               "limits": limits.child_limits()}
    run = run_in_sandbox("tracer.recorder:trace_entry", payload, limits, stdin)
    value = run.value
    if isinstance(value, dict) and "status" in value:
        try:
            return read_trace(path, value)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):  # forged by the program itself
            return Trace(path, "exception", error="the program corrupted the tracer's result")
    if run.result_overflow:
        return Trace(path, "too_long", error=run.error, truncated=True)
    return Trace(path, run.status, error=run.error)


def read_trace(path: str, value: dict) -> Trace:
    """The Trace of a traced run's result (`tracer.recorder.Recorder.result`)."""
    return Trace(path, str(value["status"]), str(value.get("stdout", "")), value.get("error"),
                 read_steps(value), bool(value.get("truncated")))


def read_steps(value: dict) -> list[Step]:
    """The steps of a traced run's result (`tracer.recorder.Recorder.result`: columns)."""
    names, lines = value["names"], value["lines"]
    functions, depths = frame_columns(value.get("frames"), len(lines))
    with gc_paused():  # hundreds of thousands of dicts, no cycles
        steps = [Step(int(line), dict(zip(names[state[0]], state[1:])) if state else {}, "", function, depth)
                 for line, state, function, depth in zip(lines, value["states"], functions, depths)]
    for i, text in value["outputs"]:
        steps[i].output = str(text)
    return steps


def frame_columns(frames: dict | None, count: int) -> tuple[list[str | None], list[int | None]]:
    """Each step's function and depth from the result's `frames` (`Recorder._frames`); None where
    not recorded."""
    if not frames:
        return [None] * count, [None] * count
    shown = [function_name(str(name)) for name in frames["names"]]
    first = [None] * int(frames["first"])
    functions = first + list(chain.from_iterable(map(repeat, map(shown.__getitem__, frames["functions"]),
                                                     frames["counts"])))
    depths = first + list(chain.from_iterable(map(repeat, map(int, frames["depths"]), frames["counts"])))
    return functions, depths


def function_name(qualname: str) -> str:
    """A code object's qualified name as the traces show it: `outer.<locals>.inner` -> `outer.inner`."""
    return qualname.replace(".<locals>", "")
