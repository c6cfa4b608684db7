"""The CodeExecutor text form of a trace, and the parser back.

One step per executed line, 0-based line numbers in angle brackets, the frame's state with
values split into space-separated tokens (string quotes dropped, as CodeExecutor renders
`s = ['x', 'y']` as `s : [ x , y ]`), what the line printed in an `<output>` segment right
after its step, and an exception the program raised (status `exception`) in one `<exception>`
segment at the end (not part of CodeExecutor's published form, which has none):

    <line> <0> <state> a : 1 </state> <line> <1> <state> a : 1 <dictsep> b : [ 1 , 2 ] </state>
    <output> 3 <exception> ZeroDivisionError : division by zero

Lines count from 0 as in CodeExecutor's data (its README: `s = ['x', 'y', 'z']`, the first
line, is `<0>`), so traces made here and its published sets share one numbering; the JSON and
the listing count from 1, as editors and tracebacks do. Objects show as in the JSON, tokenised:
`Counter(n=3)` is `Counter ( n = 3 )`.

The text is lossy on purpose (quotes and spacing go), so the round trip is text -> steps ->
text, and Trace -> text -> steps gives the same lines, names and tokenised values.
`parse_codeexecutor` never raises: on malformed model output it returns what parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracer.schema import Trace

LINE, STATE, END_STATE, DICTSEP, OUTPUT = "<line>", "<state>", "</state>", "<dictsep>", "<output>"
EXCEPTION = "<exception>"

# string literals (prefix, quotes, escapes), numbers, words, then any other single character
_TOKEN = re.compile(r"""(?P<str>[rbuRBU]{0,2}('([^'\\\n]|\\.)*'|"([^"\\\n]|\\.)*"))"""
                    r"|(?P<num>\d+(\.\d*)?([eE][+-]?\d+)?j?)|(?P<word>\w+)|(?P<other>\S)")
_LINE_TOKEN = re.compile(r"<(\d+)>")
_SPECIAL = re.compile(r"(<line>|<output>|<exception>)")


@dataclass
class ParsedStep:
    """One step read back from text: 0-based `line` (None for an output with no step before it,
    and for the exception), the state (name -> tokenised value), what the line printed
    (tokenised, "" if nothing), the exception raised (tokenised, only on a last step of its own),
    and whether its state was closed by `</state>` (not compared: text cut short leaves it False)."""

    line: int | None
    state: dict[str, str] = field(default_factory=dict)
    output: str = ""
    complete: bool = field(default=True, compare=False)
    exception: str = ""


def tokenize_value(text: str) -> str:
    """Space-tokenise a repr or printed text: `['a b', 1.5]` -> `[ a b , 1.5 ]`."""
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        if match.group("str"):
            literal = match.group("str").lstrip("rbuRBU")
            inner = tokenize_value(literal[1:-1])
            if inner:
                out.append(inner)
        else:
            out.append(match.group(0))
    return " ".join(out)


def render_steps(steps: list[ParsedStep]) -> str:
    """The text form of parsed (already tokenised) steps."""
    parts: list[str] = []
    for step in steps:
        if step.line is not None:
            entries = [f"{name} : {value}".rstrip() for name, value in step.state.items()]
            parts += [LINE, f"<{step.line}>", STATE, f" {DICTSEP} ".join(entries), END_STATE]
        if step.output:
            parts += [OUTPUT, step.output]
        if step.exception:
            parts += [EXCEPTION, step.exception]
    return " ".join(part for part in parts if part)


def trace_steps(trace: Trace) -> list[ParsedStep]:
    """The steps of a recorded trace as they appear in text: 0-based lines, tokenised values,
    and a last step holding the exception when the program raised one."""
    steps = [ParsedStep(step.line - 1, {name: tokenize_value(value) for name, value in step.state.items()},
                        tokenize_value(step.output))
             for step in trace.steps]
    if trace.status == "exception" and trace.error:
        steps.append(ParsedStep(None, exception=tokenize_value(trace.error)))
    return steps


def to_codeexecutor(trace: Trace, source_lines: list[str] | None = None) -> str:
    """The CodeExecutor text form of `trace`. With `source_lines`, steps on lines outside the
    source (e.g. code compiled from strings) are left out."""
    steps = trace_steps(trace)
    if source_lines is not None:
        steps = [s for s in steps if s.line is None or 0 <= s.line < len(source_lines)]
    return render_steps(steps)


def code_to_codeexecutor(source: str) -> str:
    """The model's input side: each source line prefixed by its 0-based `<k>` token."""
    return " ".join(f"<{k}> {line.strip()}" for k, line in enumerate(source.splitlines()) if line.strip())


def parse_codeexecutor(text: str) -> list[ParsedStep]:
    """Read steps back from text. Never raises; skips what does not parse (a `<line>` segment
    with no line number, a state entry with no ` : `); an unclosed final state is kept."""
    steps: list[ParsedStep] = []
    pieces = _SPECIAL.split(text if isinstance(text, str) else "")
    for marker, body in zip(pieces[1::2], pieces[2::2]):
        if marker == EXCEPTION:
            if " ".join(body.split()):
                steps.append(ParsedStep(None, exception=" ".join(body.split())))
            continue
        if marker == OUTPUT:
            output = " ".join(body.split())
            if not output:
                continue
            if steps and not steps[-1].output and not steps[-1].exception:
                steps[-1].output = output
            else:
                steps.append(ParsedStep(None, {}, output))
            continue
        step = _parse_line(body)
        if step is not None:
            steps.append(step)
    return steps


def _parse_line(body: str) -> ParsedStep | None:
    number = _LINE_TOKEN.match(body.strip())
    if number is None:
        return None
    rest = body.strip()[number.end():]
    start = rest.find(STATE)
    rest = rest[start + len(STATE):] if start >= 0 else ""
    end = rest.find(END_STATE)
    complete = start >= 0 and end >= 0
    rest = rest[:end] if end >= 0 else rest
    state: dict[str, str] = {}
    for entry in rest.split(DICTSEP):
        name, sep, value = entry.partition(" : ")
        if not sep:
            name, sep, value = entry.partition(":")
        if sep and name.strip():
            state[name.strip()] = " ".join(value.split())
    return ParsedStep(int(number.group(1)), state, complete=complete)
