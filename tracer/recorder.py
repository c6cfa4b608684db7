"""The child side of the tracer: run a program as `__main__` under `sys.settrace`.

A step is recorded at every `line` event of a frame whose code comes from the traced file.
Its state is taken at that frame's next event (its next `line` or its `return`, which CPython
also reports when a frame yields or unwinds through an exception), so it is the frame's locals
after the line ran. `exception` events do not close a step: the line may still be running.

What a state holds is `tracer.reprs`' business (every kept local's shortened `repr`). Where the
steps' frame may change (the first line event after a call or return of a traced frame), the
recorder notes the step, the code's qualified name and the frame's depth (traced frames below it
on the stack, the module body 0): `frames`, read into `Step.function` and `Step.depth`.

Two trace functions record the same trace: `tracer/_ctrace.c` (used when built: a Python trace
function costs a Python call per line event) and `Recorder.tracer` below (the fallback, and the
readable statement of what is recorded). At the program's recursion limit the C one goes on
(it makes no Python calls for ints, floats, bools, None and strings); CPython switches a Python
trace function off there, and the trace is `truncated`.

Speed: the global trace function gives a local one only to frames of the traced file (other
frames get no line events), a closure of its own per frame that keeps its open step. In a
function whose locals only its own code can rebind (no cells; `line_binds`), while every value
is of a type whose repr cannot change in place (`reprs.STABLE`) and no exception passed, a line
that binds no local keeps the last state (the same object, the locals not even read) and one
that does looks at its own names only. Module and class bodies are looked at name by name,
through the shared cache of `reprs.value_text`. The trace is the same as with a full look every
step. The C function keeps a state as a tuple (index of its names in `Recorder.names`, texts),
copied only when a text changes, and reads such functions' locals straight from the frame.

Programs that call `sys.settrace` get no effect (the tracer stays); signal handlers run and
are traced like any other function of the file. What a program writes straight to file
descriptor 1 (`os.write(1, ...)`) bypasses `sys.stdout` and is not part of the trace, nor is
stderr. Only the main thread is traced. A run stopped by the clock (`timeout`) sends the steps
so far when Python code gets to run its signal handler, none when it is killed (stuck in C); a
Python-level endless loop stops at `max_steps` (`too_long`) first.
"""

from __future__ import annotations

import builtins
import gc
import io
import opcode
import sys
import time
import types

from tracer import sandbox_child
from tracer.reprs import ATOMS, STABLE, hidden, short_repr, snapshot, value_text

TYPE_CHECKING = False  # imported by every sandbox child: no `typing` at run time (~20 ms)
if TYPE_CHECKING:
    from typing import Any

try:  # the trace function in C (built by `pip install`); without it, the Python one below
    from tracer import _ctrace
    if getattr(_ctrace, "VERSION", 1) < 2:  # pragma: no cover - a stale build: records no frames
        _ctrace = None
except ImportError:  # pragma: no cover - depends on the build
    _ctrace = None

__all__ = ["Recorder", "short_repr", "trace_entry"]


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
        self.states: list[tuple | dict[str, str] | None] = []  # C engine: tuples (see `result`)
        self.names: list[tuple[str, ...]] = []  # the names of the states' tuples
        self.frames: list[tuple[int, str, int]] = []  # (first step, code's qualified name, depth)
        self.ctracer: Any = None  # the C trace function, which keeps its own `frames`
        self.outputs: dict[int, list[str]] = {}
        self.stdout: list[str] = []
        self.out_chars = 0
        self.truncated = False
        self.live: dict[Any, Any] = {}  # Python engine: frame of the traced file -> its local trace function
        self.cache: dict[str, tuple] = {}  # name -> its last value and text, all frames (reprs.value_text)

    def emit(self, text: str) -> None:
        """Capture printed text and attach it to the step of the innermost traced frame."""
        if self.out_chars + len(text) > self.max_output:
            text = text[:max(self.max_output - self.out_chars, 0)]
            self.truncated = True
        if not text:
            return
        self.out_chars += len(text)
        self.stdout.append(text)
        frame, step = sys._getframe(1), None
        while frame is not None and (step := _open_step(frame.f_trace)) is None:
            frame = frame.f_back
        if step is None:
            step = len(self.lines) - 1
        if step >= 0:
            self.outputs.setdefault(step, []).append(text)

    def start(self, settrace: Any, engine: str = "auto") -> Any:
        """Trace this thread with the C trace function (`engine` "auto" or "c") or the Python one
        ("python", or "auto" where the C one is not built or `max_repr` is under 4 characters);
        returns what `sys.gettrace()` is while tracing lasts."""
        if engine not in ("auto", "c", "python"):
            raise ValueError(f"unknown tracer engine {engine!r}")
        if engine != "python" and _ctrace is not None and self.max_repr >= 4:
            tracer = _ctrace.Tracer(self.filename, self.lines, self.states, self.names, self.cache, STABLE,
                                    value_text, line_binds, sandbox_child.abort, self.max_repr, self.max_steps,
                                    True)
            self.ctracer = tracer
            tracer.start()
            return tracer
        if engine == "c":
            raise RuntimeError("the C tracer is not built (pip install the project with a C compiler)")
        tracer = self.tracer()
        settrace(tracer)
        return tracer

    def tracer(self):
        """The global trace function (for `sys.settrace`): frames of the traced file get a local
        one of their own, every other frame none."""
        lines, states, live, cache, limit = self.lines, self.states, self.live, self.cache, self.max_repr
        frames, depth, switched = self.frames, 0, False  # traced frames on the stack; one called or returned
        filename, max_steps, hidden_names, plans = self.filename, self.max_steps, set(), {}
        atoms, stable, text_of, cache_get = ATOMS, STABLE, value_text, self.cache.get

        def full_state(local_vars):
            """(every kept local's text, whether one of the values may change in place)."""
            state, volatile = {}, False
            for name, value in local_vars.items():
                if name in hidden_names:
                    continue
                hit = cache_get(name)
                if hit is not None and hit[0] is value and type(value) in stable:
                    text = hit[1]
                elif hidden(name):
                    hidden_names.add(name)
                    continue
                else:
                    text = text_of(name, value, cache, limit)
                    volatile = volatile or type(value) not in stable
                if text is not None:
                    state[name] = text
            return state, volatile

        def function_tracer(frame, plan, qualname, at):
            """Function frames: after a line that binds no local, the state is the one before (when
            its values cannot change in place); after one that does, only its names are looked at."""
            step = line = state = None  # the open step and its line; the state at the last step
            volatile = dirty = False  # a value may change in place; an exception passed

            def on_event(frame, event, arg):
                nonlocal step, line, state, volatile, dirty, depth, switched
                if step is not None:  # the open step's state: after its line
                    if event == "exception":
                        dirty = True
                        return on_event
                    full = True
                    if not volatile and not dirty and state is not None:
                        names = plan.get(line)  # the locals this line may bind or unbind
                        full = False
                        if names is not None:
                            local_vars = frame.f_locals
                            for name in names:
                                value = local_vars.get(name, _UNBOUND)
                                kind = type(value)
                                if kind in atoms:
                                    try:
                                        text = repr(value)
                                    except ValueError:  # an int too long to print
                                        text = text_of(name, value, cache, limit)
                                    if len(text) > limit:
                                        text = text[:limit - 3] + "..."
                                elif kind in stable:
                                    text = text_of(name, value, cache, limit)
                                else:  # unbound, or a value that may change in place
                                    full = True
                                    break
                                old = state.get(name)
                                if text != old:
                                    if text is None or old is None:  # a new name, or one now skipped
                                        full = True
                                        break
                                    state = {**state, name: text}
                    if full:  # the whole state from scratch
                        state, volatile = full_state(frame.f_locals)
                        dirty = False
                    states[step] = state
                    step = None
                if event == "line":
                    if len(lines) >= max_steps:
                        sandbox_child.abort("too_long", f"stopped after {max_steps} steps")
                    step = len(lines)
                    lines.append(line := frame.f_lineno)
                    states.append(None)
                    if switched:
                        frames.append((step, qualname, at))
                        switched = False
                elif event == "return":
                    live.pop(frame, None)
                    depth, switched = depth - 1, True
                return on_event
            return on_event

        def generic_tracer(frame, qualname, at):
            """Module and class bodies, frames sharing cells: every name is looked at, every step."""
            step = None  # the open step

            def on_event(frame, event, arg):
                nonlocal step, depth, switched
                if step is not None and event != "exception":  # the open step's state: after its line
                    states[step] = full_state(frame.f_locals)[0]
                    step = None
                if event == "line":
                    if len(lines) >= max_steps:
                        sandbox_child.abort("too_long", f"stopped after {max_steps} steps")
                    step = len(lines)
                    lines.append(frame.f_lineno)
                    states.append(None)
                    if switched:
                        frames.append((step, qualname, at))
                        switched = False
                elif event == "return":
                    live.pop(frame, None)
                    depth, switched = depth - 1, True
                return on_event
            return on_event

        def on_call(frame, event, arg):
            nonlocal depth, switched
            code = frame.f_code
            if code.co_filename != filename:
                return None
            plan = plans.get(code, _UNBOUND)
            if plan is _UNBOUND:
                plan = plans[code] = line_binds(code)
            at, depth, switched = depth, depth + 1, True
            on_event = (generic_tracer(frame, code.co_qualname, at) if plan is None
                        else function_tracer(frame, plan, code.co_qualname, at))
            live[frame] = on_event  # found again by `result` even after CPython switched tracing off
            return on_event
        return on_call

    def result(self, status: str, error: str | None) -> dict[str, Any]:
        """The trace for the parent (tracer.trace.read_steps reads it): status, stdout, error,
        truncated, and the steps as columns: `lines`, `states` (each `[i, text...]`: the texts of
        the names `names[i]`; null: none), `outputs` (`[step, text]` pairs) and `frames` (see
        `_frames`). Closes the steps
        still open."""
        if status == "too_long":
            self.truncated = True
        open_frames = list(self.live.items())  # Python engine: the frames it traces
        frame = sys._getframe()
        while (frame := frame.f_back) is not None:  # C engine: a run cut short has its frames on the stack
            open_frames.append((frame, frame.f_trace))
        for frame, tracer in open_frames:
            if (step := _open_step(tracer)) is not None:
                try:
                    self.states[step] = snapshot(frame.f_locals, {}, self.max_repr)
                except BaseException:  # noqa: BLE001
                    pass
        index = {names: i for i, names in enumerate(self.names)}

        def pack(state: tuple | dict | None) -> tuple | None:  # dicts: Python engine, snapshots
            if not isinstance(state, dict):
                return state
            names = tuple(state)
            if names not in index:
                index[names] = len(self.names)
                self.names.append(names)
            return (index[names], *state.values())
        return {"status": status, "stdout": "".join(self.stdout), "error": error, "truncated": self.truncated,
                "lines": self.lines, "names": self.names, "states": [pack(s) for s in self.states],
                "frames": self._frames(),
                "outputs": [[i, "".join(texts)] for i, texts in self.outputs.items() if i < len(self.lines)]}


    def _frames(self) -> dict[str, Any]:
        """Where the steps' function changes, as columns: from step `first` on, `counts[k]` steps
        run in the code named `names[functions[k]]` (qualified name) at depth `depths[k]`."""
        segments = self.frames if self.ctracer is None else self.ctracer.frames()
        if not segments:
            return {"first": len(self.lines), "counts": [], "functions": [], "depths": [], "names": []}
        starts, names, depths = zip(*segments)
        index = {name: i for i, name in enumerate(dict.fromkeys(names))}
        ends = starts[1:] + (max(len(self.lines), starts[-1]),)
        return {"first": starts[0], "counts": [end - start for start, end in zip(starts, ends)],
                "functions": list(map(index.__getitem__, names)), "depths": list(depths), "names": list(index)}


_UNBOUND = object()  # a local without a value
_BINDING = frozenset(opcode.opmap[name] for name in ("STORE_FAST", "DELETE_FAST"))
_OTHER_BINDING = frozenset(opcode.opmap[name] for name in (
    "STORE_NAME", "DELETE_NAME", "STORE_DEREF", "DELETE_DEREF", "IMPORT_STAR"))
_EXTENDED_ARG = opcode.opmap["EXTENDED_ARG"]
_CO_OPTIMIZED = 0x1  # inspect.CO_OPTIMIZED (inspect and dis take 15 ms to import: every run pays it)


def line_binds(code: types.CodeType) -> dict[int, tuple[str, ...]] | None:
    """For a function's code: line -> the locals its instructions bind or unbind. None where other
    code may rebind this frame's locals too (module and class bodies: their globals or namespace;
    cells shared with nested functions) or where a binding instruction has no line."""
    if not code.co_flags & _CO_OPTIMIZED or code.co_cellvars or code.co_freevars:
        return None
    line_of = {}
    for start, end, line in code.co_lines():
        for offset in range(start, end, 2):
            line_of[offset] = line
    binds: dict[int, list[str]] = {}
    raw, extended = code.co_code, 0
    for offset in range(0, len(raw), 2):
        op, arg = raw[offset], raw[offset + 1] | extended
        extended = arg << 8 if op == _EXTENDED_ARG else 0
        if op in _OTHER_BINDING:
            return None
        if op in _BINDING:
            line, name = line_of.get(offset), code.co_varnames[arg]
            if line is None:
                return None
            if not hidden(name) and name not in binds.setdefault(line, []):
                binds[line].append(name)
    return {line: tuple(names) for line, names in binds.items()}


def _open_step(tracer: Any) -> int | None:
    """The open step of a frame, from its `f_trace`: the Python engine's local trace function or
    the C engine's record (None: none, or not a frame of the traced file)."""
    if isinstance(tracer, types.FunctionType) and "step" in tracer.__code__.co_freevars:
        return tracer.__closure__[tracer.__code__.co_freevars.index("step")].cell_contents
    return tracer.step if _ctrace is not None and isinstance(tracer, _ctrace.FrameRec) else None


def _ignored_settrace(func: Any) -> None:
    """The program's `sys.settrace`: ignored, the recorder keeps tracing."""


def trace_entry(payload: dict[str, Any]) -> dict[str, Any]:
    """Sandbox entry: compile and run `payload["source"]` as `__main__`, return the trace JSON."""
    filename = payload["filename"]
    recorder = Recorder(filename, payload["limits"])

    def finish(status: str, error: str | None) -> dict[str, Any]:
        gc.disable()  # this child ends once the result is sent: collections over every step are wasted
        return recorder.result(status, error)
    sandbox_child.set_abort_handler(finish)
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
    status, error, traced = "ok", None, payload.get("trace", True)  # False: an untraced run (overhead)
    active = recorder.start(settrace, payload.get("engine", "auto")) if traced else None
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
        lost = traced and (sys.gettrace() is not active or getattr(active, "failed", False))
        settrace(None)
    if lost:
        # CPython switches tracing off when the trace function fails (e.g. a RecursionError
        # raised in it at the recursion limit): the steps after that point are missing
        recorder.truncated = True
    main.__dict__.clear()  # free the program's data before building the result
    return dict(finish(status, error), seconds=seconds)


def _exception_line(err: BaseException) -> str:
    try:
        text = str(err)
    except BaseException:  # noqa: BLE001
        text = ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
