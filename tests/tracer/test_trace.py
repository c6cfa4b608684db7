"""The tracer: exact steps and states for small programs, and hostile programs end cleanly."""

from __future__ import annotations

import pytest

from tracer.recorder import short_repr
from tracer.sandbox import Limits
from tracer.trace import trace_file, trace_source

FAST = Limits(timeout_s=3, memory_mb=256, max_steps=2000)


def steps(source: str, **kwargs) -> list[tuple]:
    trace = trace_source(source, limits=FAST, **kwargs)
    assert trace.status == "ok", trace
    return [(s.line, s.state, s.output) if s.output else (s.line, s.state) for s in trace.steps]


def test_loop_state_is_taken_after_each_line():
    assert steps("total = 0\nfor i in range(2):\n    total += i\n") == [
        (1, {"total": "0"}), (2, {"total": "0", "i": "0"}), (3, {"total": "0", "i": "0"}),
        (2, {"total": "0", "i": "1"}), (3, {"total": "1", "i": "1"}), (2, {"total": "1", "i": "1"})]


def test_function_frames_interleave_in_event_order_with_their_output():
    assert steps("def show(v):\n    print('v', v)\n    return v\nprint(show(1) + 1)\n") == [
        (1, {}), (4, {}, "2\n"), (2, {"v": "1"}, "v 1\n"), (3, {"v": "1"})]


def test_generator_steps_close_at_each_yield():
    assert steps("def gen(n):\n    for i in range(n):\n        yield i * 2\nys = list(gen(2))\n") == [
        (1, {}), (4, {"ys": "[0, 2]"}), (2, {"n": "2", "i": "0"}), (3, {"n": "2", "i": "0"}),
        (2, {"n": "2", "i": "1"}), (3, {"n": "2", "i": "1"}), (2, {"n": "2", "i": "1"})]


def test_comprehension_frames_are_traced_without_the_hidden_iterator():
    assert steps("xs = [x * x for x in range(3) if x]\n") == [
        (1, {"xs": "[1, 4]"}), (1, {"x": "0"}), (1, {"x": "1"}), (1, {"x": "2"}), (1, {"x": "2"})]


def test_class_bodies_are_traced_and_objects_print_without_addresses():
    # line 1 twice: the module runs the `class` statement, then the class body starts on that line
    assert steps("class Point:\n    dims = 2\n    def norm(self):\n        return 0\np = Point()\n") == [
        (1, {}), (1, {}), (2, {"dims": "2"}), (3, {"dims": "2"}), (5, {"p": "Point()"})]


def test_modules_functions_and_dunders_are_not_state():
    trace = trace_source("import os\nfrom math import sqrt\nlam = lambda: 1\nn = __name__\n", limits=FAST)
    assert trace.steps[-1].state == {"n": "'__main__'"}


def test_caught_and_uncaught_exceptions():
    assert steps("def f(x):\n    y = x + 1\n    return y / 0\ntry:\n    f(1)\nexcept ZeroDivisionError:\n"
                 "    caught = True\n") == [
        (1, {}), (4, {}), (5, {}), (2, {"x": "1", "y": "2"}), (3, {"x": "1", "y": "2"}), (6, {}),
        (7, {"caught": "True"})]
    trace = trace_source("x = 1\ny = x / 0\nz = 2\n", limits=FAST)
    assert (trace.status, trace.error) == ("exception", "ZeroDivisionError: division by zero")
    assert [s.line for s in trace.steps] == [1, 2] and trace.steps[-1].state == {"x": "1"}


def test_stdout_exactly_as_printed_and_stdin():
    trace = trace_source("a = input()\nb = input('> ')\nprint(a, b, sep='-', end='')\n", stdin="1\n2\n",
                         limits=FAST)
    assert trace.stdout == "> 1-2" and trace.steps[1].output == "> "


def test_a_lone_surrogate_in_the_output_still_gives_the_trace():
    # not valid UTF-8: the child's result replaces it
    trace = trace_source("s = '\\udc80'\nprint('x' + s)\nn = 2 ** 70\n", limits=FAST)
    assert trace.status == "ok" and trace.stdout == "x?\n"
    assert trace.steps[-1].state == {"s": "'\\udc80'", "n": str(2 ** 70)}


def test_long_values_are_shortened():
    state = trace_source("s = 'x' * 1000\nxs = list(range(1000))\n", limits=FAST).steps[-1].state
    assert state["s"] == "'" + "x" * 96 + "..." and len(state["xs"]) == 100
    assert state["xs"].startswith("[0, 1, 2, ") and state["xs"].endswith("...")


@pytest.mark.parametrize("value", [[1, 2, 3], (1,), (), {1: "a", (2, 3): [4]}, set(), {1, 2},
                                   frozenset({3}), "x" * 500, list(range(300)), ["a" * 10**5] * 3,
                                   {"k": {"j": [1.5, None, True]}}, b"ab" * 100])
def test_short_repr_is_a_prefix_of_repr(value):
    text = short_repr(value, 100)
    assert text == repr(value) or (len(text) == 100 and repr(value).startswith(text[:-3]))


def test_source_path_is_main_and_its_directory_is_importable(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 41\n")
    prog = tmp_path / "prog.py"
    prog.write_text("import helper\nimport sys\nx = helper.VALUE + 1\nprint(__name__, sys.argv[0] == __file__)\n")
    trace = trace_file(prog, limits=FAST)
    assert trace.status == "ok" and trace.stdout == "__main__ True\n"
    assert trace.steps[-1].state == {"x": "42"} and trace.path == str(prog)


# ---- hostile programs: each ends with a clear status, in bounded time, leaving nothing behind

@pytest.mark.parametrize("source,status,error", [
    ("while True: pass\n", "timeout", "wall-clock limit of 3 s reached"),  # no line events: the clock
    ("while True:\n    pass\n", "too_long", "stopped after 2000 steps"),
    ("x = bytearray(50 * 10**9)\n", "memory", "MemoryError"),
    ("import os\nwhile True:\n    os.fork()\n", "blocked", "blocked: os.fork (processes, sockets and ctypes are not allowed)"),
    ("import socket\ns = socket.socket()\n", "blocked", "blocked: socket.__new__ (processes, sockets and ctypes are not allowed)"),
    ("x = input()\n", "exception", "EOFError: EOF when reading a line"),
    ("def f(n):\n    return f(n - 1) + 1 if n else 0\nf(10**6)\n", "exception",
     "RecursionError: maximum recursion depth exceeded"),  # "... in comparison" or "... while calling"
    ("import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n - 1) + 1 if n else 0\nf(10**6)\n",
     "too_long", "stopped after 2000 steps"),
    ("x = (1,\n", "syntax_error", "SyntaxError: '(' was never closed (line 1)"),
    ("import ctypes\n", "blocked", "blocked: ctypes is not available in the sandbox"),
    ("import socket\nsocket.getaddrinfo('localhost', 80)\n", "blocked", "blocked: socket.getaddrinfo"),
    ("import socket\nsocket.gethostbyname('localhost')\n", "blocked", "blocked: socket.gethostbyname"),
    ("import subprocess\nsubprocess.run(['hostname'])\n", "blocked", "blocked: "),
])
def test_hostile_program(source, status, error):
    trace = trace_source(source, limits=FAST)
    assert trace.status == status and trace.error.startswith(error), trace


def test_host_and_user_look_ups_get_a_made_up_answer():
    trace = trace_source("import getpass, platform, socket\nnames = {socket.gethostname(), platform.node(), "
                         "getpass.getuser()}\n", limits=FAST)
    assert (trace.status, trace.steps[-1].state) == ("ok", {"names": "{'sandbox'}"})


def test_writing_or_deleting_outside_the_workdir_is_blocked(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("keep")
    for source in (f"import os\nos.remove({str(keep)!r})\n", f"open({str(keep)!r}, 'a').write('x')\n",
                   f"open({str(tmp_path / 'new.txt')!r}, 'w')\n"):
        trace = trace_source(source, limits=FAST)
        assert trace.status == "blocked" and "outside the working directory" in trace.error
    assert keep.read_text() == "keep" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_exits_are_normal_ends():
    trace = trace_source("import sys\nprint('a')\nsys.exit(3)\n", limits=FAST)
    assert (trace.status, trace.error, trace.stdout) == ("ok", "SystemExit: 3", "a\n")
    trace = trace_source("import os\nx = 1\nprint('bye')\nos._exit(0)\n", limits=FAST)
    assert (trace.status, trace.error, trace.stdout) == ("ok", None, "bye\n")
    assert trace.steps[-1].line == 4 and trace.steps[-1].state == {"x": "1"}


def test_printing_a_gigabyte_is_cut():
    trace = trace_source("s = 'x' * 10**6\nfor i in range(1000):\n    print(s)\n",
                         limits=Limits(timeout_s=10, max_output_bytes=5000))
    assert trace.status == "ok" and trace.truncated and trace.stdout == "x" * 5000


def test_a_timeout_keeps_the_steps_so_far():
    trace = trace_source("import time\nx = 1\ntime.sleep(100)\n", limits=Limits(timeout_s=1))
    assert (trace.status, trace.error) == ("timeout", "wall-clock limit of 1 s reached")
    assert [(s.line, s.state) for s in trace.steps] == [(1, {}), (2, {"x": "1"}), (3, {"x": "1"})]
    stuck_in_c = trace_source("x = sum(range(10**12))\n", limits=Limits(timeout_s=1))
    assert (stuck_in_c.status, stuck_in_c.steps) == ("timeout", [])  # killed after the grace second


def test_too_many_steps_stop_the_program():
    trace = trace_source("i = 0\nwhile True:\n    i += 1\n", limits=Limits(timeout_s=5, max_steps=50))
    assert (trace.status, trace.truncated, len(trace.steps)) == ("too_long", True, 50)
    assert trace.steps[-1].state == {"i": "24"}


def test_non_utf8_file(tmp_path):
    prog = tmp_path / "latin.py"
    prog.write_bytes(b"s = '\xe9t\xe9'\n")
    trace = trace_file(prog, limits=FAST)
    assert trace.status == "syntax_error" and "not valid source text" in trace.error
    prog.write_bytes(b"# -*- coding: latin-1 -*-\ns = '\xe9t\xe9'\n")
    assert trace_file(prog, limits=FAST).steps[-1].state == {"s": "'\u00e9t\u00e9'"}


def test_own_settrace_and_signal_handlers_do_not_break_the_tracer():
    trace = trace_source("import sys\nsys.settrace(lambda *a: None)\nx = 1\ny = 2\n", limits=FAST)
    assert trace.status == "ok" and [s.line for s in trace.steps] == [1, 2, 3, 4]
    trace = trace_source("import signal, time\nhits = []\ndef on_alarm(sig, frame):\n    hits.append(sig)\n"
                         "signal.signal(signal.SIGALRM, on_alarm)\nsignal.setitimer(signal.ITIMER_REAL, 0.01)\n"
                         "time.sleep(0.5)\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nn = len(hits)\n",
                         limits=FAST)
    assert trace.status == "ok" and trace.steps[-1].state == {"hits": "[14]", "n": "1"}
    assert 4 in [s.line for s in trace.steps]  # the handler's body was traced


def test_a_forged_result_does_not_crash_the_parent():
    forged = b'{"status": "ok", "value": {"status": "ok", "steps": [{"line": "x"}]}}'
    trace = trace_source(f"import os, posix\nfor fd in range(3, 40):\n    try:\n        os.write(fd, {forged!r})\n"
                         "    except OSError:\n        pass\nposix._exit(0)\n", limits=FAST)
    assert (trace.status, trace.error) == ("exception", "the program corrupted the tracer's result")


def test_a_list_changed_in_place_shows_each_change():
    assert [s[1]["xs"] for s in steps("xs = [1, 2]\nxs[0] = 1.0\nxs[0] = True\nxs.append(3)\nxs.pop()\n")] == [
        "[1, 2]", "[1.0, 2]", "[True, 2]", "[True, 2, 3]", "[True, 2]"]
    long = [s[1]["xs"][:12] for s in steps("xs = list(range(100))\nxs[-1] = 0\nxs[1] = -1\n")]
    assert long == ["[0, 1, 2, 3,", "[0, 1, 2, 3,", "[0, -1, 2, 3"]


def test_the_json_round_trips_with_function_and_depth():
    from tracer.schema import Trace

    trace = trace_source("def f(x):\n    return x * 2\ny = f(2)\n", limits=FAST)
    assert [(s.function, s.depth) for s in trace.steps] == [("<module>", 0), ("<module>", 0), ("f", 1)]
    assert Trace.from_json(trace.to_json()) == trace
