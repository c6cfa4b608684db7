"""The recorder's two trace functions, C (`tracer/_ctrace.c`) and Python, record the same traces."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from tracer import recorder
from tracer.sandbox import Limits, run_in_sandbox
from tracer.schema import Step
from tracer.singleline import generate
from tracer.trace import read_steps

pytestmark = pytest.mark.skipif(recorder._ctrace is None, reason="the C tracer is not built")

LIMITS = Limits(timeout_s=5, memory_mb=256, max_steps=3000, max_repr=40)
PROGRAMS = [
    "x = 1\nx += 2\ny = [x] * 3\ndel x\n",
    "def f(a, b=2):\n    c = a * b\n    c += 1\n    return c\nr = f(3)\ns = f(4, 5)\n",
    "def gen(n):\n    for i in range(n):\n        yield i * i\ntotal = sum(gen(4))\n",
    "squares = [i * i for i in range(5)]\nevens = {k: v for k, v in enumerate(squares) if v % 2 == 0}\n",
    "class Point:\n    dims = 2\n    def __init__(self, x):\n        self.x = x\np = Point(3)\nq = [p, Point(4)]\n",
    "def outer():\n    n = 0\n    def inc():\n        nonlocal n\n        n += 1\n    inc()\n    inc()\n    return n\nm = outer()\n",
    "items = []\nfor k in range(4):\n    items.append(k)\n    items[0] = -k\nd = {}\nd['a'] = items\nd['a'].pop()\n",
    "def safe(v):\n    try:\n        r = 10 // v\n    except ZeroDivisionError:\n        r = None\n    finally:\n"
    "        done = True\n    return r\na = safe(2)\nb = safe(0)\n",
    "def boom(n):\n    if n == 0:\n        raise ValueError('zero')\n    return boom(n - 1)\ntry:\n    boom(3)\n"
    "except ValueError as e:\n    msg = str(e)\n",
    "s = 'a' * 100\nt = 'object at 0x1234>'\nbig = 10 ** 5000\nf = 1.5\nflag = True\nnothing = None\n",
    "def show(x):\n    print('x is', x)\n    y = x + 1\n    print(y, end='')\n    return y\nfor v in range(3):\n    show(v)\n",
    "class Bad:\n    def __repr__(self):\n        raise RuntimeError('no')\nb = Bad()\nc = 1\n",
    "g = 0\ndef bump():\n    global g\n    g += 1\n    return g\nfor _ in range(3):\n    bump()\n",
    "import math\nfrom functools import reduce\nv = reduce(lambda a, b: a * b, [1, 2, 3, 4])\nw = math.sqrt(v)\n",
    "with open('f.txt', 'w') as fh:\n    fh.write('hi')\nwith open('f.txt') as fh:\n    text = fh.read()\n",
    "def f(n):\n    t = ()\n    t = t + (n,)\n    b = bytes(t)\n    c = 3 + 4j\n    return b, c\nr = f(7)\n",
    "i = 0\nwhile True:\n    i += 1\n",  # too_long: the trace up to max_steps
    "x = input()\ny = x.upper()\nprint(y)\n",
    "for v in [5000, 10**12, -7**20, 5000, 2**63 - 1, -2**63, 2**63, 10**12, 4095, -257]:\n    big = v\n",
    "for ch in 'a\\'\"\\\\\u00e9\\n\u4e2d ':\n    last = ch\n",  # one-character strings (C: texts made once)
]


def record(source: str, engine: str, stdin: str = "", limits: Limits = LIMITS) -> dict:
    payload = {"source": source, "filename": "/t/prog.py", "directory": "/t",
               "limits": limits.child_limits(), "engine": engine}
    run = run_in_sandbox("tracer.recorder:trace_entry", payload, limits, stdin)
    assert isinstance(run.value, dict), run
    value = {key: run.value[key] for key in ("status", "stdout", "error", "truncated")}
    return dict(value, steps=read_steps(run.value))


@pytest.mark.parametrize("source", PROGRAMS)
def test_c_and_python_trace_functions_agree(source):
    c, python = record(source, "c", "hello\n"), record(source, "python", "hello\n")
    assert c == python
    assert c["steps"]


def test_only_the_c_trace_function_leaves_the_locals_dict_as_the_program_made_it():
    source = "def f():\n    __hidden__ = 1\n    visible = 2\n    loc = locals()\n    return loc\nr = f()\nprint(r)\n"
    c, python = record(source, "c"), record(source, "python")
    assert c["stdout"] == "{'__hidden__': 1, 'visible': 2}\n"  # as it prints untraced
    assert c["steps"][4] == Step(4, {"visible": "2", "loc": "{'__hidden__': 1, 'visible': 2}"}, "", "f", 1)
    # CPython refreshes a frame's locals() dict before each call of a Python trace function
    assert python["stdout"] == "{'__hidden__': 1, 'visible': 2, 'loc': {...}}\n"
    assert [s.line for s in c["steps"]] == [s.line for s in python["steps"]]


def test_they_agree_on_generated_single_line_programs():
    program = "\n".join(generate(40, seed=3)) + "\n"
    c, python = record(program, "c"), record(program, "python")
    assert c["status"] == "ok" and c == python


def test_at_the_recursion_limit_only_the_c_trace_function_keeps_tracing():
    source = ("import sys\ndef f(n):\n    return f(n - 1) + 1 if n else 0\nsys.setrecursionlimit(60)\n"
              "try:\n    f(100)\nexcept RecursionError:\n    ok = True\n")
    c, python = record(source, "c"), record(source, "python")
    assert python["truncated"] and python["steps"][-1].line != 8  # CPython switched the Python one off
    assert not c["truncated"] and c["steps"][-1] == Step(8, {"ok": "True"}, "", "<module>", 0)
    assert c["steps"][:len(python["steps"]) - 1] == python["steps"][:-1]


def test_the_c_trace_function_is_the_default():
    rec = recorder.Recorder("/t/prog.py", LIMITS.child_limits())
    active = rec.start(lambda func: None)
    sys.settrace(None)
    assert isinstance(active, recorder._ctrace.Tracer) and not active.failed
    with pytest.raises(ValueError, match="engine"):
        rec.start(lambda func: None, "fast")


def test_a_repr_that_changes_the_frames_names_does_not_stop_the_c_trace_function():
    source = ("class Grow:\n    def __repr__(self):\n        globals()['n%d' % len(globals())] = 1\n"
              "        return 'Grow'\ng = Grow()\nh = [g]\nk = 2\n")
    c, python = record(source, "c"), record(source, "python")
    assert c["status"] == "ok" and [s.line for s in c["steps"]] == [1, 1, 2, 5, 6, 7]
    assert c["steps"][-1].state["k"] == "2" and c["steps"][-1].state["h"] == "[Grow]"
    # the names are taken before any repr runs; Python's own iteration over the dict fails
    assert python["status"] == "exception" and "changed size" in python["error"]


def test_they_agree_on_texts_cut_to_a_small_limit():
    source = "a = 123456789012\nb = a\nc = -1234567\nd = 'abcdefghijkl'\ne = 1234567\n"
    small = dataclasses.replace(LIMITS, max_repr=7)
    c, python = record(source, "c", limits=small), record(source, "python", limits=small)
    assert c == python and c["steps"][-1].state == {
        "a": "1234...", "b": "1234...", "c": "-123...", "d": "'abc...", "e": "1234567"}


def test_each_step_knows_its_function_and_depth():
    source = ("def outer(n):\n    def inner(k):\n        return k + 1\n    return inner(n)\n"
              "class Box:\n    size = 1\n    def get(self):\n        return [v for v in (outer(self.size),)]\n"
              "def gen():\n    yield 1\n    yield 2\nb = Box().get()\nt = sum(gen())\n")
    c, python = record(source, "c"), record(source, "python")
    assert c == python
    assert [(s.line, s.function, s.depth) for s in c["steps"]] == [
        (1, "<module>", 0), (5, "<module>", 0), (5, "Box", 1), (6, "Box", 1), (7, "Box", 1), (9, "<module>", 0),
        (12, "<module>", 0), (8, "Box.get", 1), (2, "outer", 2), (4, "outer", 2), (3, "outer.inner", 3),
        (8, "Box.get.<listcomp>", 2), (8, "Box.get.<listcomp>", 2), (13, "<module>", 0), (10, "gen", 1),
        (11, "gen", 1)]
