"""The sandbox entry of verified search: import by file path, bind `f`, evaluate checks under limits."""

from pathlib import Path

import pytest

from tracer.checks import package_root
from tracer.sandbox import Limits, run_in_sandbox


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("SCALE = 2\n")
    (root / "src" / "pkg" / "ops.py").write_text(
        "from . import SCALE\n\n"
        "def scale(x):\n    return SCALE * x\n\n"
        "def spin(x):\n    while True:\n        pass\n\n"
        "def hog(x):\n    return bytearray(x << 30)\n\n"
        "class Box:\n    def double(self, x):\n        return x + x\n\n"
        "class Needs:\n    def __init__(self, a):\n        self.a = a\n\n    def get(self):\n        return self.a\n")
    (root / "scripts").mkdir()
    (root / "scripts" / "tool-x.py").write_text("def shout(s):\n    return s.upper()\n")
    (root / "writes.py").write_text(f"open({str(root.parent / 'escaped.txt')!r}, 'w').write('x')\n\n"
                                    "def ok():\n    return 1\n")
    (root / "spawns.py").write_text("import subprocess\n\ndef run(cmd):\n"
                                    "    return subprocess.run(cmd).returncode\n")
    return root


def check(root: Path, path: str, name: str, checks: list[str], kind: str = "function", limit: float = 1.0):
    """One candidate in one child: the sandbox result, its value being that candidate's entry."""
    payload = {"root": str(root), "candidates": [{"path": path, "name": name, "kind": kind}],
               "checks": checks, "check_timeout_s": limit}
    run = run_in_sandbox("tracer.checks:run_checks", payload, Limits(timeout_s=10, memory_mb=512))
    (run.value,) = run.value["results"]
    return run


def test_package_root_climbs_packages(repo):
    assert package_root(repo, repo / "src" / "pkg" / "ops.py") == (repo / "src", "pkg.ops")
    assert package_root(repo, repo / "src" / "pkg" / "__init__.py") == (repo / "src", "pkg")
    assert package_root(repo, repo / "writes.py") == (repo, "writes")


def test_pass_and_fail_report_the_returned_value(repo):
    run = check(repo, "src/pkg/ops.py", "scale", ["f(3) == 6", "f(3) == 7", "f('a') == 'aa'", "f()"])
    assert run.status == "ok" and run.value["error"] is None
    outcome = run.value["checks"]
    assert outcome[0] == {"passed": True}
    assert outcome[1] == {"passed": False, "returned": "6"}
    assert outcome[2] == {"passed": True}
    assert not outcome[3]["passed"] and outcome[3]["error"].startswith("TypeError")


def test_loop_and_memory_cost_one_check(repo):
    run = check(repo, "src/pkg/ops.py", "spin", ["f(1)", "f is not None"], limit=0.5)
    assert run.value["checks"] == [{"passed": False, "error": "time limit of 0.5 s reached"},
                                   {"passed": False, "error": "not run: an earlier check ran out of time or memory"}]
    run = check(repo, "src/pkg/ops.py", "hog", ["len(f(4)) > 0"])
    assert run.value["checks"][0]["error"].startswith("MemoryError")


def test_methods_bind_to_a_fresh_instance(repo):
    run = check(repo, "src/pkg/ops.py", "Box.double", ["f(4) == 8"], kind="method")
    assert run.value == {"error": None, "loaded": True, "checks": [{"passed": True}]}
    run = check(repo, "src/pkg/ops.py", "Needs.get", ["f() == 1"], kind="method")
    assert run.value["checks"] == [] and "cannot be built without arguments" in run.value["error"]


def test_file_outside_packages_and_odd_names(repo):
    run = check(repo, "scripts/tool-x.py", "shout", ["f('hi') == 'HI'"])
    assert run.value == {"error": None, "loaded": True, "checks": [{"passed": True}]}
    (repo / "scripts" / "json.py").write_text("def loads(s):\n    return 'mine'\n")  # a taken name
    run = check(repo, "scripts/json.py", "loads", ["f('1') == 'mine'"])
    assert run.value == {"error": None, "loaded": True, "checks": [{"passed": True}]}


def test_import_side_effects_and_subprocess_are_refused(repo):
    payload = {"root": str(repo), "checks": ["f() == 1"], "check_timeout_s": 1,
               "candidates": [{"path": "scripts/tool-x.py", "name": "shout", "kind": "function"},
                              {"path": "writes.py", "name": "ok", "kind": "function"},
                              {"path": "src/pkg/ops.py", "name": "scale", "kind": "function"}]}
    run = run_in_sandbox("tracer.checks:run_checks", payload, Limits(timeout_s=10))
    assert run.status == "blocked" and "outside the working directory" in run.value["cut"]
    first, cut = run.value["results"]  # the run stops in the second candidate: the third never ran
    assert first["loaded"] and not cut["loaded"]
    assert not (repo.parent / "escaped.txt").exists()
    payload["candidates"] = [{"path": "spawns.py", "name": "run", "kind": "function"}]
    payload["checks"] = ["f(['true']) == 0", "1 == 1"]
    run = run_in_sandbox("tracer.checks:run_checks", payload, Limits(timeout_s=10))
    assert run.status == "blocked" and "subprocess" in run.value["cut"]
    assert run.value["results"] == [{"error": None, "loaded": True, "checks": []}]
