"""`codelm trace` as the contract describes it."""

from __future__ import annotations

import json


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_json_one_line_per_file_in_order(tmp_path, codelm_cli):
    ok = write(tmp_path, "ok.py", "x = 1\nprint(x + 1)\n")
    bad = write(tmp_path, "bad.py", "y = 1 / 0\n")
    proc = codelm_cli("trace", ok, bad, "--json", "--timeout", "5")
    assert proc.returncode == 0, proc.stderr
    first, second = [json.loads(line) for line in proc.stdout.splitlines()]
    assert first == {"path": ok, "status": "ok", "stdout": "2\n", "error": None, "truncated": False,
                     "steps": [{"line": 1, "state": {"x": "1"}, "function": "<module>", "depth": 0},
                               {"line": 2, "state": {"x": "1"}, "output": "2\n", "function": "<module>", "depth": 0}]}
    assert (second["path"], second["status"], second["error"]) == (bad, "exception", "ZeroDivisionError: division by zero")


def test_stdin_and_limits(tmp_path, codelm_cli):
    prog = write(tmp_path, "echo.py", "print(input().upper())\n")
    proc = codelm_cli("trace", prog, "--json", "--stdin", "hi\n")
    assert json.loads(proc.stdout)["stdout"] == "HI\n"
    hog = write(tmp_path, "hog.py", "x = bytearray(2 * 10**9)\n")
    assert json.loads(codelm_cli("trace", hog, "--json", "--memory", "200").stdout)["status"] == "memory"


def test_readable_listing(tmp_path, codelm_cli):
    prog = write(tmp_path, "loop.py", "total = 0\nfor i in range(2):\n    total += i\nprint(total)\n")
    proc = codelm_cli("trace", prog)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["line", "function", "source", "changes"]
    assert lines[1].split() == ["1", "<module>", "total", "=", "0", "total", "=", "0"]
    assert lines[3] == "    3  <module>      total += i          "[:len(lines[3])]  # the source's indentation
    assert lines[-3:] == ["    4  <module>  print(total)", "       > 1", "status: ok"]


def test_listing_shows_functions_depth_objects_and_exceptions(tmp_path, codelm_cli):
    prog = write(tmp_path, "obj.py", "class Counter:\n    def __init__(self):\n        self.n = 0\n"
                 "    def inc(self):\n        self.n += 1\nc = Counter()\nc.inc()\n"
                 "label = 'x' * 200\nc.inc(); c.inc(); c.inc(); c.inc(); c.inc(); c.inc(); c.inc(); c.inc(); c.inc()\n"
                 "c.n / 0\n")
    rows = codelm_cli("trace", prog).stdout.splitlines()
    assert [r.split()[:2] for r in rows[1:4]] == [["1", "<module>"], ["2", "Counter"], ["4", "Counter"]]  # once
    assert rows[4].split() == ["6", "<module>", "c", "=", "Counter()", "c", "=", "Counter(n=0)"]
    assert rows[5].split() == ["3", "Counter.__init__", "self.n", "=", "0", "self", "=", "Counter(n=0)"]
    assert rows[5].startswith("    3    Counter.__init__")  # two spaces a call level
    label = next(r for r in rows if r.split()[0] == "8")
    assert label.endswith("xxx...") and "label = 'xxx" in label  # a long value ends in an ellipsis
    assert any(r.startswith("    9  <module>") and "c.inc(); c.inc();" in r and "…" in r for r in rows)
    assert rows[-2:] == ["       ! ZeroDivisionError: division by zero",
                         "status: exception (ZeroDivisionError: division by zero)"]


def test_piped_stdin_is_the_programs_input(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT
    prog = write(tmp_path, "add.py", "a, b = map(int, input().split())\nprint(a + b)\n")
    env = dict(__import__("os").environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "codelm", "trace", prog, "--json"], input="3 4\n",
                         capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(run.stdout)["stdout"] == "7\n", run.stderr
    given = subprocess.run([sys.executable, "-m", "codelm", "trace", prog, "--json", "--stdin", "1 2"],
                           input="3 4\n", capture_output=True, text=True, env=env, timeout=60)
    assert json.loads(given.stdout)["stdout"] == "3\n"  # --stdin wins over the pipe


def test_bad_inputs_say_what_they_are(tmp_path, codelm_cli):
    proc = codelm_cli("trace", str(tmp_path))
    assert (proc.returncode, proc.stdout) == (1, "") and proc.stderr.startswith(f"error: {tmp_path} is a directory")
    assert proc.stderr.count("\n") == 1 and "codelm dataset trace" in proc.stderr
    (tmp_path / "prog.pyc").write_bytes(b"\xa7\r\r\n\0\0\0\0" + bytes(range(256)))
    proc = codelm_cli("trace", str(tmp_path / "prog.pyc"))
    assert proc.returncode == 1 and proc.stderr == f"error: {tmp_path / 'prog.pyc'} is a binary file, " \
        "not Python source; give the .py file of the program\n"
    (tmp_path / "latin.py").write_bytes(b"s = '\xe9t\xe9'\n")
    write(tmp_path, "syntax.py", "def f(:\n")
    write(tmp_path, "forever.py", "while True:\n    pass\n")
    write(tmp_path, "stuck.py", "x = sum(range(10**12))\n")
    ends = [codelm_cli("trace", str(tmp_path / name), "--timeout", "1").stdout.splitlines()[-1]
            for name in ("latin.py", "syntax.py", "forever.py", "stuck.py")]
    assert ends[0].startswith("status: syntax_error (SyntaxError: ") and "save it as UTF-8" in ends[0]
    assert ends[1] == "status: syntax_error (SyntaxError: invalid syntax (line 1))"
    assert ends[2] == "status: too_long (stopped after 10000 steps) [truncated]; raise --max-steps to record more"
    # which of the two limits --timeout sets is reached first depends on the machine's load
    assert ends[3] in ("status: timeout (wall-clock limit of 1 s reached); raise --timeout if it needs longer",
                       "status: timeout (CPU time limit of 2 s reached); raise --timeout if it needs longer")


def test_missing_file_and_bad_options(tmp_path, codelm_cli):
    proc = codelm_cli("trace", str(tmp_path / "nope.py"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "no such file" in proc.stderr
    prog = write(tmp_path, "p.py", "x = 1\n")
    assert codelm_cli("trace", prog, "--timeout", "0").returncode == 2


def test_codeexecutor_format(tmp_path, codelm_cli):
    prog = write(tmp_path, "p.py", "x = [1, 2]\nprint(x)\n")
    proc = codelm_cli("trace", prog, "--format", "codeexecutor")
    assert proc.stdout.strip() == ("<line> <0> <state> x : [ 1 , 2 ] </state> "
                                   "<line> <1> <state> x : [ 1 , 2 ] </state> <output> [ 1 , 2 ]")
    bad = write(tmp_path, "bad.py", "x = 1\ny = x / 0\n")
    proc = codelm_cli("trace", bad, "--format", "codeexecutor")
    assert proc.stdout.strip().endswith("</state> <exception> ZeroDivisionError : division by zero")
