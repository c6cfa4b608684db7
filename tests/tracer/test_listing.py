"""The readable listing: one row per line event, a class statement once, cuts that show."""

from __future__ import annotations

from tracer.listing import cut, listing
from tracer.sandbox import Limits
from tracer.schema import Step, Trace
from tracer.trace import trace_source

FAST = Limits(timeout_s=3, memory_mb=256, max_steps=2000)


def rows(source: str) -> list[list[str]]:
    text = listing(trace_source(source, limits=FAST), source)
    return [row.split()[:2] for row in text.splitlines()[1:-1]]


def test_a_class_statement_is_listed_once_decorated_or_not():
    source = "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int = 0\nclass Q: pass\n"
    assert len(trace_source(source, limits=FAST).steps) == 9  # the JSON keeps CPython's two events
    assert rows(source) == [["1", "<module>"], ["2", "<module>"], ["3", "<module>"], ["4", "P"],
                            ["2", "<module>"], ["3", "<module>"], ["5", "<module>"]]


def test_a_function_whose_first_line_is_a_decorator_keeps_it():
    source = "def deco(f):\n    return f\ndef outer():\n    @deco\n    def inner():\n        pass\nouter()\n"
    assert ["4", "outer"] in rows(source)


def test_changes_are_per_frame():
    source = "def f(a):\n    b = a\n    return b\nx = f(1)\ny = f(2)\n"
    text = listing(trace_source(source, limits=FAST), source).splitlines()
    assert [r.split("  ")[-1].strip() for r in text if r.startswith("    2")] == ["a = 1, b = 1", "a = 2, b = 2"]
    assert [r for r in text if r.startswith("    5")][0].endswith("  y = 2")  # the module frame: x did not change


def test_cuts_end_in_an_ellipsis_and_steps_without_frames_still_list():
    assert (cut("abcdef", 4), cut("abcd", 4)) == ("abc…", "abcd")
    trace = Trace("p.py", "too_long", steps=[Step(1, {"x": "1"})], error="stopped after 1 steps", truncated=True)
    text = listing(trace, "x = 1\n", hint="raise --max-steps").splitlines()
    assert text[0].index("source") == text[1].index("x = 1")  # the columns line up
    assert [row.split() for row in text[1:-1]] == [["1", "x", "=", "1", "x", "=", "1"]]
    assert text[-1] == "status: too_long (stopped after 1 steps) [truncated]; raise --max-steps"
