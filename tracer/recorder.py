"""The child side of the tracer: run a program as `__main__` under `sys.settrace`.

A step is recorded at every `line` event of a frame whose code comes from the traced file.
Its state is taken at that frame's next event (its next `line` or its `return`, which CPython
also reports when a frame yields or unwinds through an exception), so it is the frame's locals
after the line ran. `exception` events do not close a step: the line may still be running.

What a state holds: every local except dunder names (`__name__`, `__builtins__`, ...),
compiler temporaries (`.0`), and modules, functions, methods and classes (definitions and
imports are code, not data; CodeExecutor keeps variables only). Values are `repr`s, cut to
`max_repr` characters with `...`; long lists, dicts, sets and strings are cut before `repr`
runs, unchanged ints, floats, strings, bytes and None reuse the last repr, and default
reprs lose their address (`<__main__.Point object>`) so that traces are reproducible.

Programs that call `sys.settrace` get no effect (the tracer stays); signal handlers run and
are traced like any other function of the file. What a program writes straight to file
descriptor 1 (`os.write(1, ...)`) bypasses `sys.stdout` and is not part of the trace, nor is
stderr. Only the main thread is traced. A run stopped by the clock (`timeout`) or killed
returns no steps: a Python-level endless loop stops at `max_steps` (`too_long`) instead.
"""

from __future__ import annotations

import builtins
import io
import re
import sys
import time
import types
from typing import Any

from tracer import sandbox_child

# objects whose repr (or whose being skipped) cannot change while the object stays the same
_STABLE = frozenset({int, float, complex, bool, str, bytes, type(None), types.ModuleType,
                     types.FunctionType, types.BuiltinFunctionType, types.MethodType, type})
_SKIP = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")
_ATOMS = frozenset({int, float, bool, type(None)})
_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})"),
             dict: ("{", "}")}


def short_repr(value: Any, limit: int, depth: int = 0) -> str:
    """`repr(value)` cut to `limit` characters (`...` at the end), never building a huge repr:
    strings are cut first, lists, tuples, sets and dicts are written item by item until the
    limit is passed."""
    kind = type(value)
    try:
        if kind in _BRACKETS and value:
            text = _container_repr(value, kind, limit, depth)
        else:
            if (kind is str or kind is bytes) and len(value) > limit:
                value = value[:limit]
            text = repr(value)
    except BaseException as err:  # noqa: BLE001 - a broken __repr__ must not stop the trace
        text = f"<{kind.__name__} object; repr failed: {type(err).__name__}>"
    if " at 0x" in text:  # default reprs: drop the address so traces are reproducible
        text = _ADDRESS.sub(">", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _container_repr(value: Any, kind: type, limit: int, depth: int) -> str:
    opening, closing = _BRACKETS[kind]
    if kind is list or kind is tuple:  # fast path: a head of numbers, bools and None, repr'd in C
        head = value[:limit // 3 + 1]  # each item takes 3 characters or more: enough to pass the limit
        if _ATOMS.issuperset(map(type, head)):
            return repr(head)
    if depth > 8:
        return opening + "..." + closing
    parts, size = [], len(opening)
    items = value.items() if kind is dict else value
    for item in items:
        if kind is dict:
            key, val = item
            text = (repr(key) if type(key) in _ATOMS else short_repr(key, limit, depth + 1)) + ": " + (
                repr(val) if type(val) in _ATOMS else short_repr(val, limit, depth + 1))
        else:
            text = repr(item) if type(item) in _ATOMS else short_repr(item, limit, depth + 1)
        parts.append(text)
        size += len(text) + 2
        if size > limit:  # the rest would be cut anyway
            break
    if kind is tuple and len(value) == 1:
        return f"({parts[0]},)"
    return opening + ", ".join(parts) + closing


_HIDDEN_NAMES: set[str] = set()  # dunder and compiler names seen so far: skipped at a glance


def _snapshot(local_vars: dict[str, Any], cache: dict[str, tuple], limit: int) -> dict[str, str]:
    """The state: kept names -> short reprs. `cache` remembers each name's last value and repr;
    an unchanged atom (the same object) or skipped object is not looked at again, nor is a list
    of numbers whose shown items did not change."""
    state = {}
    hidden = _HIDDEN_NAMES
    for name, value in local_vars.items():
        if name in hidden:
            continue
        hit = cache.get(name)
        if hit is not None and hit[0] is value and (type(value) in _STABLE or (
                len(hit) == 5 and (head := value[:hit[4]]) == hit[2] and hit[3] == list(map(type, head)))):
            text = hit[1]
        elif (name[:2] == "__" and name[-2:] == "__") or name[:1] == ".":
            hidden.add(name)
            continue
        else:
            text = _value_text(name, value, cache, limit)
        if text is not None:
            state[name] = text
    return state


def _value_text(name: str, value: Any, cache: dict[str, tuple], limit: int) -> str | None:
    """The repr to show for a new or changed value (None: not state), remembered in `cache`."""
    kind = type(value)
    if isinstance(value, _SKIP):
        text = None
    elif kind in _ATOMS:
        try:
            text = repr(value)
        except ValueError:  # an int too long to print
            text = short_repr(value, limit)
        if len(text) > limit:
            text = text[:limit - 3] + "..."
    else:
        text = short_repr(value, limit)
        if kind is list:  # remember the shown items (and their types: 1 == 1.0 == True) to compare
            shown = limit // 3 + 2  # more than the text can show: a longer list compares unequal
            head = value[:shown]
            if _ATOMS.issuperset(types := list(map(type, head))):
                cache[name] = (value, text, head, types, shown)
                return text
    cache[name] = (value, text)
    return text


class _Bytes:
    """`sys.stdout.buffer`: bytes are decoded (UTF-8, bad bytes replaced) and captured."""

    def __init__(self, text: "_Stdout") -> None:
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        pass


class _Stdout(io.TextIOBase):
    """The program's `sys.stdout`: every write goes to the recorder."""

    encoding = "utf-8"

    def __init__(self, recorder: "Recorder") -> None:
        self._recorder = recorder
        self.buffer = _Bytes(self)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._recorder.emit(text)
        return len(text)


class Recorder:
    """Steps, states and output of one traced run (inside the child)."""

    def __init__(self, filename: str, limits: dict[str, Any]) -> None:
        self.filename = filename
        self.max_steps, self.max_repr = limits["max_steps"], limits["max_repr"]
        self.max_output = limits["max_output_bytes"]
        self.lines: list[int] = []
        self.states: list[dict[str, str] | None] = []
        self.outputs: dict[int, list[str]] = {}
        self.stdout: list[str] = []
        self.out_chars = 0
        self.truncated = False
        self.pending: dict[Any, int] = {}  # frame being run -> its step whose state is not taken yet
        self.cache: dict[str, tuple[Any, str | None]] = {}  # name -> last (value, repr), all frames:
        # sharing is safe, a hit needs the very same object

    def emit(self, text: str) -> None:
        """Capture printed text and attach it to the step of the innermost traced frame."""
        if self.out_chars + len(text) > self.max_output:
            text = text[:max(self.max_output - self.out_chars, 0)]
            self.truncated = True
        if not text:
            return
        self.out_chars += len(text)
        self.stdout.append(text)
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_filename != self.filename or frame not in self.pending):
            frame = frame.f_back
        step = self.pending[frame] if frame is not None else len(self.lines) - 1
        if step >= 0:
            self.outputs.setdefault(step, []).append(text)

    def tracer(self):
        """The global trace function (for `sys.settrace`). Only frames of the traced file get the
        local one, which keeps `pending` and no other per-frame object (calls stay cheap)."""
        lines, states, limit, pending, cache = self.lines, self.states, self.max_repr, self.pending, self.cache
        filename, max_steps, snapshot, take = self.filename, self.max_steps, _snapshot, self.pending.pop

        def on_call(frame, event, arg):
            return on_event if frame.f_code.co_filename == filename else None

        def on_event(frame, event, arg):
            if event == "exception":
                return on_event
            step = take(frame, None)
            if step is not None:
                states[step] = snapshot(frame.f_locals, cache, limit)
            if event == "line":
                step = len(lines)
                if step >= max_steps:
                    sandbox_child.abort("too_long", f"stopped after {max_steps} steps")
                pending[frame] = step
                lines.append(frame.f_lineno)
                states.append(None)
            return on_event
        return on_call

    def result(self, status: str, error: str | None) -> dict[str, Any]:
        """The trace as JSON (schema.Trace without the path); closes the steps still open."""
        if status == "too_long":
            self.truncated = True
        for frame, step in list(self.pending.items()):
            try:
                self.states[step] = _snapshot(frame.f_locals, {}, self.max_repr)
            except BaseException:  # noqa: BLE001
                pass
        steps = []
        for i, (line, state) in enumerate(zip(self.lines, self.states)):
            step = {"line": line, "state": state or {}}
            if i in self.outputs:
                step["output"] = "".join(self.outputs[i])
            steps.append(step)
        return {"status": status, "stdout": "".join(self.stdout), "error": error, "steps": steps,
                "truncated": self.truncated}


def _ignored_settrace(func: Any) -> None:
    """The program's `sys.settrace`: ignored, the recorder keeps tracing."""


def trace_entry(payload: dict[str, Any]) -> dict[str, Any]:
    """Sandbox entry: compile and run `payload["source"]` as `__main__`, return the trace JSON."""
    filename = payload["filename"]
    recorder = Recorder(filename, payload["limits"])
    sandbox_child.set_abort_handler(recorder.result)
    try:
        code = compile(payload["source"], filename, "exec", dont_inherit=True)
    except MemoryError:
        return recorder.result("memory", "MemoryError while compiling")
    except (SyntaxError, ValueError, RecursionError) as err:
        where = f" (line {err.lineno})" if getattr(err, "lineno", None) else ""
        return recorder.result("syntax_error", f"{type(err).__name__}: {getattr(err, 'msg', err)}{where}")
    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=filename, __builtins__=builtins, __spec__=None, __loader__=None)
    sys.modules["__main__"] = main
    sys.argv = [filename]
    sys.path[0] = payload["directory"]
    sys.stdout = sys.__stdout__ = _Stdout(recorder)
    settrace, sys.settrace = sys.settrace, _ignored_settrace
    on_call = recorder.tracer()
    status, error = "ok", None
    if payload.get("trace", True):  # False: an untraced run, to measure the tracer's overhead
        settrace(on_call)
    start = time.perf_counter()
    try:
        exec(code, main.__dict__)
    except SystemExit as err:
        error = None if err.code in (None, 0) else f"SystemExit: {err.code}"
    except MemoryError:
        status, error = "memory", "MemoryError"
    except sandbox_child.Refused as err:
        status, error = "blocked", f"blocked: {err}"
    except BaseException as err:  # noqa: BLE001 - the program's own failure is the result
        status, error = "exception", _exception_line(err)
    finally:
        seconds = time.perf_counter() - start
        lost = sys.gettrace() is not on_call and payload.get("trace", True)
        settrace(None)
    if lost:
        # CPython switches tracing off when the trace function fails (e.g. a RecursionError
        # raised in it at the recursion limit): the steps after that point are missing
        recorder.truncated = True
    main.__dict__.clear()  # free the program's data before building the result
    return dict(recorder.result(status, error), seconds=seconds)


def _exception_line(err: BaseException) -> str:
    try:
        text = str(err)
    except BaseException:  # noqa: BLE001
        text = ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
