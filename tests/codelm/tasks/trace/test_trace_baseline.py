"""The shape-copying trace baseline."""

from __future__ import annotations

from codelm.tasks.trace.baselines import ShapeBaseline
from tracer.format import parse_codeexecutor

TRAIN = [
    {"source": "a = 1\nb = a + 2\n",
     "trace_text": "<line> <0> <state> a : 1 </state> <line> <1> <state> a : 1 <dictsep> b : 3 </state>"},
    {"source": "c = [1, 2]\nd = len(c)\n",
     "trace_text": "<line> <0> <state> c : [ 1 , 2 ] </state> <line> <1> <state> c : [ 1 , 2 ] <dictsep> d : 2 </state>"},
    {"source": "x = 'hi'\ny = x * 2\nz = 3\n",
     "trace_text": "<line> <0> <state> x : hi </state> <line> <1> <state> x : hi <dictsep> y : hihi </state>"
                   " <line> <2> <state> x : hi <dictsep> y : hihi <dictsep> z : 3 </state>"},
]


def test_most_frequent_shape_for_the_line_count_with_copied_literals():
    base = ShapeBaseline().fit(TRAIN)
    text = base.predict("q = ['a b', -5]\nr = q[0]\n")
    steps = parse_codeexecutor(text)
    assert [s.line for s in steps] == [0, 1]
    assert steps[0].state == {"q": "[ a b , - 5 ]"}
    assert steps[1].state["q"] == "[ a b , - 5 ]" and set(steps[1].state) == {"q", "r"}
    assert steps[1].state["r"] == base.value            # not a literal: the most frequent value
    three = parse_codeexecutor(base.predict("a = 1\nb = 2\nc = 3\n"))
    assert [s.line for s in three] == [0, 1, 2] and three[-1].state == {"a": "1", "b": "2", "c": "3"}
    assert [s.line for s in parse_codeexecutor(base.predict("def f(:\n"))] == [0, 1]  # unseen count, bad syntax
