"""The CodeExecutor text form: rendering, round trip, and a parser that survives garbage."""

from hypothesis import given, settings, strategies as st

from tracer.format import (ParsedStep, code_to_codeexecutor, parse_codeexecutor, render_steps,
                           to_codeexecutor, tokenize_value, trace_steps)
from tracer.schema import Step, Trace


def _trace() -> Trace:
    return Trace("prog.py", "ok", "3\n", steps=[
        Step(1, {"a": "1"}),
        Step(2, {"a": "1", "s": "['x', 'y z']"}),
        Step(3, {"a": "1", "s": "['x', 'y z']", "d": "{'k': -2.5}"}, output="3\n"),
    ])


def test_renders_the_codeexecutor_form():
    text = to_codeexecutor(_trace())
    assert text == ("<line> <0> <state> a : 1 </state> "
                    "<line> <1> <state> a : 1 <dictsep> s : [ x , y z ] </state> "
                    "<line> <2> <state> a : 1 <dictsep> s : [ x , y z ] <dictsep> d : { k : - 2.5 } </state> "
                    "<output> 3")


def test_round_trip_text_to_steps_and_back():
    trace = _trace()
    text = to_codeexecutor(trace)
    steps = parse_codeexecutor(text)
    assert steps == trace_steps(trace)
    assert [s.line for s in steps] == [0, 1, 2]
    assert steps[2].output == "3"
    assert render_steps(steps) == text


def test_empty_state_and_empty_string_value():
    trace = Trace("p.py", "ok", steps=[Step(1, {}), Step(4, {"s": "''"})])
    text = to_codeexecutor(trace)
    assert text == "<line> <0> <state> </state> <line> <3> <state> s : </state>"
    assert parse_codeexecutor(text) == [ParsedStep(0, {}), ParsedStep(3, {"s": ""})]


def test_values_cannot_forge_structure_tokens():
    assert tokenize_value("'<state> a : 1 <dictsep>'") == "< state > a : 1 < dictsep >"
    trace = Trace("p.py", "ok", steps=[Step(1, {"s": "'</state> <line> <9>'"})])
    assert [s.line for s in parse_codeexecutor(to_codeexecutor(trace))] == [0]


def test_source_lines_drop_steps_outside_the_file():
    trace = Trace("p.py", "ok", steps=[Step(1, {"a": "1"}), Step(7, {"a": "1"})])
    assert to_codeexecutor(trace, ["a = 1"]) == "<line> <0> <state> a : 1 </state>"


def test_code_side_has_line_tokens():
    assert code_to_codeexecutor("a = 1\n\nb = a + 1\n") == "<0> a = 1 <2> b = a + 1"


def test_parser_keeps_what_parses_in_malformed_text():
    text = "junk <line> <2> <state> a : 1 <dictsep> broken <dictsep> b : 2 <line> nonsense <output> hi"
    assert parse_codeexecutor(text) == [ParsedStep(2, {"a": "1", "b": "2"}, "hi")]
    assert parse_codeexecutor("<output> early <line> <0> <state> </state>") == [
        ParsedStep(None, {}, "early"), ParsedStep(0, {})]
    assert parse_codeexecutor("") == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["<line>", "<state>", "</state>", "<dictsep>", "<output>", "<3>",
                                  " : ", ":", " ", "a", "1", "<", ">", "\n"]) | st.characters(),
                max_size=60).map("".join) | st.text())
def test_parser_never_raises_on_garbage(text):
    steps = parse_codeexecutor(text)
    assert all(isinstance(s, ParsedStep) for s in steps)
    render_steps(steps)


def test_real_trace_renders_and_parses_back(tmp_path, codelm_cli):
    from tracer.trace import trace_source

    source = "xs = ['a', 'b']\nfor x in xs:\n    print(x * 2)\n"
    trace = trace_source(source)
    text = to_codeexecutor(trace, source.splitlines())
    steps = parse_codeexecutor(text)
    assert [s.line for s in steps] == [0, 1, 2, 1, 2, 1]
    assert steps[0].state == {"xs": "[ a , b ]"} and steps[2].output == "aa" and steps[4].output == "bb"
    (tmp_path / "p.py").write_text(source)
    done = codelm_cli("trace", str(tmp_path / "p.py"), "--format", "codeexecutor")
    assert done.returncode == 0 and done.stdout.strip() == text


def test_an_exception_the_program_raised_ends_the_text_and_reads_back():
    trace = Trace("p.py", "exception", "hi\n", "ZeroDivisionError: division by zero",
                  [Step(1, {"x": "1"}, "hi\n"), Step(2, {"x": "1"})])
    text = to_codeexecutor(trace, ["x = 1", "y = x / 0"])
    assert text == ("<line> <0> <state> x : 1 </state> <output> hi <line> <1> <state> x : 1 </state> "
                    "<exception> ZeroDivisionError : division by zero")
    steps = parse_codeexecutor(text)
    assert steps == trace_steps(trace) and render_steps(steps) == text
    assert steps[-1] == ParsedStep(None, exception="ZeroDivisionError : division by zero")
    for status in ("ok", "timeout", "too_long"):  # only an exception the program raised
        assert "<exception>" not in to_codeexecutor(Trace("p.py", status, error="why", steps=trace.steps))


def test_metrics_count_the_exception_as_a_sentence():
    from tracer.metrics import score_traces

    gold = "<line> <0> <state> x : 1 </state> <exception> ValueError : bad"
    assert score_traces([gold], [gold])["trace_acc"] == 100.0
    missed = score_traces([gold], ["<line> <0> <state> x : 1 </state>"])
    assert (missed["trace_acc"], missed["line_recall"], missed["line_precision"]) == (0.0, 50.0, 100.0)
