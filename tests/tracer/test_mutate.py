"""MutPy operators: each makes parseable single-site mutants with the intended change."""

import ast

import pytest

from tracer.mutate import OPERATORS, Mutant, keep_mutant, mutants
from tracer.schema import Step, Trace

CASES = {
    "AOR": ("y = a + b\n", {"y = a - b"}),
    "AOD": ("y = -a\n", {"y = a"}),
    "ASR": ("y += 2\n", {"y -= 2"}),
    "BCR": ("for i in x:\n    break\n", {"for i in x:\n    continue"}),
    "COD": ("y = not a\nz = a not in b\n", {"y = a\nz = a not in b", "y = not a\nz = a in b"}),
    "CRP": ("y = 1\ns = 'ab'\n", {"y = 2\ns = 'ab'", "y = 1\ns = 'mutpy'", "y = 1\ns = ''"}),
    "LCR": ("y = a and b\n", {"y = a or b"}),
    "ROR": ("y = a < b\n", {"y = a > b", "y = a <= b"}),
    "SIR": ("y = x[1:2]\n", {"y = x[:2]", "y = x[1:]"}),
    "OIL": ("while a:\n    a -= 1\n", {"while a:\n    a -= 1\n    break"}),
    "RIL": ("for i in x:\n    pass\n", {"for i in reversed(x):\n    pass"}),
    "ZIL": ("for i in x:\n    a = i\n", {"for i in x:\n    break"}),
}


@pytest.mark.parametrize("op", OPERATORS)
def test_each_operator_makes_the_intended_change(op):
    source, expected = CASES[op]
    found = mutants(source, operators=[op])
    assert {m.source for m in found} == expected
    for m in found:
        ast.parse(m.source)
        assert m.op == op and m.line >= 1


def test_aor_leaves_augmented_assignments_to_asr_and_mutpy_string_becomes_python():
    assert [m.source for m in mutants("y += a * b\n", ["AOR"])] == [
        "y += a / b", "y += a // b", "y += a ** b"]
    assert [m.source for m in mutants("s = 'mutpy'\n", ["CRP"])][0] == "s = 'python'"
    assert mutants('"""doc"""\n', ["CRP"]) == []


def test_deterministic_and_limited_sample():
    source = "x = [1, 2, 3]\nfor i in x:\n    if i > 1 and i != 3:\n        print(i * 2 + 1)\n"
    everything = mutants(source)
    assert everything == mutants(source)
    assert len({m.source for m in everything}) == len(everything)
    sample = mutants(source, limit=5, seed=1)
    assert len(sample) == 5 and sample == mutants(source, limit=5, seed=1)
    assert all(m in everything for m in sample)
    assert mutants("def broken(:\n") == []
    with pytest.raises(ValueError):
        mutants(source, ["XYZ"])


def test_filter_keeps_completed_mutants_that_behave_differently():
    original = Trace("p.py", "ok", "3\n", steps=[Step(1, {"x": "3"})])
    assert keep_mutant(original, Trace("p.py", "ok", "4\n"))
    assert not keep_mutant(original, Trace("p.py", "ok", "3\n"))
    assert not keep_mutant(original, Trace("p.py", "exception", "4\n"))
    silent = Trace("p.py", "ok", steps=[Step(1, {"x": "3"})])
    assert keep_mutant(silent, Trace("p.py", "ok", steps=[Step(1, {"x": "4"})]))
    assert not keep_mutant(silent, Trace("p.py", "ok", steps=[Step(1, {"x": "3"})]))
    assert isinstance(mutants("x = 1\n")[0], Mutant)


def test_filter_with_the_real_tracer():
    from tracer.trace import trace_source

    source = "total = 0\nfor i in range(3):\n    total += i\nprint(total)\n"
    original = trace_source(source)
    kept = {m.op for m in mutants(source) if keep_mutant(original, trace_source(m.source))}
    assert {"ASR", "ZIL", "OIL", "CRP"} <= kept
    # reversing range(3) sums the same: RIL is filtered out here
    assert "RIL" not in kept
