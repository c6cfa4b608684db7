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
    assert lines[0].split() == ["1", "total", "=", "0", "total", "=", "0"]
    assert lines[-3:] == ["    4  print(total)", "       > 1", "status: ok"]


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
