"""What a state shows of the program's own objects, and cuts that always say so."""

from __future__ import annotations

import pytest

from tracer.reprs import short_repr
from tracer.sandbox import Limits
from tracer.trace import trace_source

FAST = Limits(timeout_s=3, memory_mb=256, max_steps=2000)


def last_state(source: str, limits: Limits = FAST) -> dict[str, str]:
    trace = trace_source(source, limits=limits)
    assert trace.status == "ok", trace
    return trace.steps[-1].state


def test_the_programs_objects_show_their_attributes_one_level_deep():
    state = last_state("class Counter:\n    def __init__(self):\n        self.n = 0\n    def inc(self):\n"
                       "        self.n += 1\nc = Counter()\nc.inc()\nc.inc()\nc.label = 'two'\n"
                       "class Node:\n    __slots__ = ('value', 'next')\n    def __init__(self, v, nxt=None):\n"
                       "        self.value, self.next = v, nxt\nchain = Node(1, Node(2))\nnodes = [Node(3)]\n"
                       "class Empty:\n    pass\ne = Empty()\ne.me = e\n")
    assert state == {"c": "Counter(n=2, label='two')", "chain": "Node(value=1, next=Node(...))",
                     "nodes": "[Node(value=3, next=None)]", "e": "Empty(me=Empty(...))"}


def test_a_method_sees_self_change():
    trace = trace_source("class Counter:\n    def __init__(self):\n        self.n = 0\n    def inc(self):\n"
                         "        self.n += 1\nc = Counter()\nc.inc()\n", limits=FAST)
    assert [(s.line, s.state) for s in trace.steps if "self" in s.state] == [
        (3, {"self": "Counter(n=0)"}), (5, {"self": "Counter(n=1)"})]
    assert [s.state for s in trace.steps if s.line == 7] == [{"c": "Counter(n=1)"}]  # after the call


def test_own_reprs_dataclasses_and_other_modules_objects_keep_their_repr():
    state = last_state("from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n"
                       "class R:\n    def __repr__(self):\n        return 'R!'\n"
                       "import collections\nclass L(list):\n    pass\n"
                       "p, r, l, o = P(1), R(), L([1]), object()\n")
    assert state == {"p": "P(x=1)", "r": "R!", "l": "[1]", "o": "<object object>"}


def test_an_object_with_many_attributes_is_cut_with_an_ellipsis():
    state = last_state("class Big:\n    pass\nb = Big()\nfor i in range(50):\n    setattr(b, f'a{i}', i)\n",
                       Limits(timeout_s=3, max_repr=40))
    assert state["b"] == "Big(a0=0, a1=1, a2=2, a3=3, a4=4, a5=..."


@pytest.mark.parametrize("value,limit,text", [
    (["a", "b", "c"], 10, "['a', '..."),   # the last item shown ends at the limit: still cut
    (["a", "b"], 10, "['a', 'b']"),          # everything fits: nothing cut
    ({"a": 1, "b": 2, "c": 3}, 16, "{'a': 1, 'b':..."),
])
def test_a_cut_always_ends_in_an_ellipsis(value, limit, text):
    assert short_repr(value, limit) == text


def test_an_object_that_just_fits_is_not_cut():
    point = type("Point", (), {"__module__": "__main__"})()  # as if the program defined it
    point.x, point.y = 1, 2
    assert (short_repr(point, 15), short_repr(point, 14)) == ("Point(x=1, y=2)", "Point(x=1, ...")
