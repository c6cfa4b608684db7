"""Fidelity: the tracer's line sequence equals a minimal `sys.settrace` reference, and its stdout
equals the untraced run, on doctest examples of the standard library (and of a few installed packages) made into scripts.

    python benchmarks/trace_fidelity.py [--small]

Each docstring with examples becomes one script: `from MODULE import *`, then every example in
a `try` block (bare expressions print their repr, as the doctest shell shows them; an
exception prints its type). The untraced and reference runs use the sandbox's own settings
(a fresh directory, `PYTHONHASHSEED=0`, empty stdin). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import ast
import doctest
import importlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracer.sandbox import Limits  # noqa: E402
from tracer.trace import trace_file  # noqa: E402

MODULES = ("fractions", "statistics", "textwrap", "difflib", "heapq", "collections", "functools",
           "string", "json", "shlex", "pprint", "ipaddress", "base64", "calendar", "_pydecimal",
           "pickletools", "builtins", "typing", "enum", "itertools", "operator", "bisect", "colorsys",
           "graphlib", "dataclasses", "packaging.version", "markupsafe", "sortedcontainers")
REFERENCE = """import json, runpy, sys
path = sys.argv[1]
lines = []
def on_call(frame, event, arg):
    if frame.f_code.co_filename != path:
        return None
    def on_event(frame, event, arg):
        if event == "line":
            lines.append(frame.f_lineno)
        return on_event
    return on_event
sys.settrace(on_call)
try:
    runpy.run_path(path, run_name="__main__")
except BaseException:
    pass
sys.settrace(None)
with open(sys.argv[2], "w") as f:
    json.dump(lines, f)
"""


def example_script(module: str, test: doctest.DocTest) -> str | None:
    blocks = [f"from {module} import *\nimport {module}\n"]
    for example in test.examples:
        try:
            tree = ast.parse(example.source)
        except SyntaxError:
            return None
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
            code = f"_value = ({ast.unparse(tree.body[0].value)})\nif _value is not None:\n    print(repr(_value))\n"
        else:
            code = example.source
        blocks.append("try:\n" + textwrap.indent(code, "    ") + "\nexcept Exception as _err:\n"
                      "    print(type(_err).__name__)\n")
    return "".join(blocks)


def scripts(small: bool) -> list[tuple[str, str]]:
    out = []
    for module in MODULES[:6] if small else MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue  # an installed package that this environment lacks
        # module=False: also classes that claim another module (_pydecimal's say `decimal`)
        for test in sorted(doctest.DocTestFinder().find(mod, module=False), key=lambda t: t.name):
            if test.examples and (script := example_script(module, test)):
                out.append((test.name, script))
    return out[:40] if small else out


def run_untraced(path: str, workdir: str, env: dict[str, str]) -> tuple[str, list[int]]:
    ref_out = os.path.join(workdir, "..", "lines.json")
    plain = subprocess.run([sys.executable, "-s", path], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
    subprocess.run([sys.executable, "-s", "-c", REFERENCE, path, ref_out], cwd=workdir, env=env,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    return plain.stdout, json.loads(Path(ref_out).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="the first 40 scripts of 6 modules")
    args = parser.parse_args()
    limits = Limits(timeout_s=60, memory_mb=2048, max_steps=10**6, max_output_bytes=1 << 24)
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    report = {"scripts": 0, "lines_equal": 0, "stdout_equal": 0, "steps": 0, "statuses": {},
              "mismatches": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, source in scripts(args.small):
            path = os.path.join(tmp, "prog.py")
            Path(path).write_text(source)
            workdir = tempfile.mkdtemp(dir=tmp)
            stdout, ref_lines = run_untraced(path, workdir, dict(env, HOME=workdir, TMPDIR=workdir))
            trace = trace_file(path, limits=limits)
            lines = [s.line for s in trace.steps]
            report["scripts"] += 1
            report["steps"] += len(lines)
            report["statuses"][trace.status] = report["statuses"].get(trace.status, 0) + 1
            report["lines_equal"] += lines == ref_lines
            report["stdout_equal"] += trace.stdout == stdout
            if lines != ref_lines or trace.stdout != stdout:
                report["mismatches"].append({"name": name, "status": trace.status, "error": trace.error,
                                             "lines_equal": lines == ref_lines,
                                             "stdout_equal": trace.stdout == stdout})
    n = max(report["scripts"], 1)
    report["lines_equal_pct"] = round(100 * report["lines_equal"] / n, 1)
    report["stdout_equal_pct"] = round(100 * report["stdout_equal"] / n, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
