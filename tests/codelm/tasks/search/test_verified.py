"""Verified search: check parsing, signature fit, re-ranking of fake search results under limits."""

import ast
from pathlib import Path

import pytest

from codelm.errors import UsageError
from codelm.tasks.search.signatures import calls_of_f, fits
from codelm.tasks.search.verified import CheckPlan, check_candidates, parse_checks

SOURCE = '''import os

def add_ok(a, b):
    return a + b

def add_wrong(a, b):
    return a - b

def add_loop(a, b):
    while True:
        pass

def add_hog(a, b):
    return len(bytearray(1 << 34)) + a + b

def add_one(a):
    return a + 1

def add_kw(a, *, b):
    return a + b

def outer(a, b):
    def inner(a, b):
        return a + b
    return inner

class Adder:
    def add(self, a, b):
        return a + b
'''


def result(path: str, name: str, kind: str = "function", language: str = "python") -> dict:
    return {"path": path, "name": name, "kind": kind, "language": language, "start_line": 1,
            "end_line": 2, "score": 0.5}


@pytest.fixture
def repo(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "calc.py").write_text(SOURCE)
    (root / "evil.py").write_text(f"open({str(tmp_path / 'escaped.txt')!r}, 'w').write('x')\n\n"
                                  "def add(a, b):\n    return a + b\n")
    (root / "spawn.py").write_text("import os\n\ndef add(a, b):\n    os.system('touch /tmp/x')\n    return a + b\n")
    return root


def plan(checks: list[str], **kw) -> CheckPlan:
    return CheckPlan(checks=checks, calls=parse_checks(checks), **{"check_s": 1.0, "budget_s": 30.0, **kw})


@pytest.mark.parametrize("bad, says", [("f(1) ==", "not a Python expression"), ("x = f(1)", "not a Python expression"),
                                       ("len([1]) == 1", "does not use f"), ("import os", "not a Python expression")])
def test_bad_checks_are_usage_errors(bad, says):
    with pytest.raises(UsageError, match=says):
        parse_checks(["f(1) == 2", bad])


def test_signature_fit_from_the_ast():
    def params(src: str) -> ast.arguments:
        return ast.parse(src).body[0].args

    call = calls_of_f(ast.parse("f(1, 2, c=3) == 4", mode="eval"))[0]
    assert fits(params("def g(a, b, c=0): pass"), call, False) is None
    assert fits(params("def g(self, a, b, *, c): pass"), call, True) is None
    assert "positional" in fits(params("def g(a, *, c=0): pass"), call, False)
    assert "'c'" in fits(params("def g(a, b): pass"), call, False)
    assert fits(params("def g(a, b, **kw): pass"), call, False) is None
    assert "needs d" in fits(params("def g(a, b, c, d): pass"), call, False)
    assert fits(params("def g(*args, **kw): pass"), calls_of_f(ast.parse("f(*xs)", mode="eval"))[0], False) is None


def test_correct_candidate_first_bad_ones_contained(repo, tmp_path):
    results = [result("calc.py", n) for n in ("add_wrong", "add_loop", "add_hog", "add_one", "add_kw", "outer.inner")]
    results += [result("evil.py", "add"), result("spawn.py", "add"), result("calc.py", "Adder", "class"),
                result("calc.py", "Adder.add", "method"), result("calc.py", "add_ok"), result("x.js", "add", language="javascript")]
    ranked = check_candidates(repo, results, plan(["f(1, 2) == 3", "f(2, 2) == 4", "f(0, 0) == 0"], memory_mb=512))
    by_name = {(r["path"], r["name"]): r for r in ranked}
    assert [r["name"] for r in ranked[:2]] == ["Adder.add", "add_ok"]  # verified, in search order
    assert all(r["verified"] and r["checks_passed"] == 3 and r["checks_total"] == 3 for r in ranked[:2])
    wrong = by_name["calc.py", "add_wrong"]
    assert ranked[2] is wrong and wrong["checks_passed"] == 1  # f(0, 0) == 0 holds: a partial pass
    assert wrong["failures"][0] == {"check": "f(1, 2) == 3", "returned": "-1"}
    assert by_name["calc.py", "add_loop"]["failures"][0]["error"] == "time limit of 1 s reached"
    assert by_name["calc.py", "add_hog"]["failures"][0]["error"].startswith("MemoryError")
    assert "signature mismatch" in by_name["calc.py", "add_one"]["unchecked"]
    assert "at most 1 positional" in by_name["calc.py", "add_kw"]["unchecked"]
    assert "nested" in by_name["calc.py", "outer.inner"]["unchecked"]
    assert "outside the working directory" in by_name["evil.py", "add"]["unchecked"]
    spawn = by_name["spawn.py", "add"]  # refused in the first check: the rest are not run
    assert spawn["checks_passed"] == 0 and all("os.system" in f["error"] for f in spawn["failures"])
    assert by_name["calc.py", "Adder"]["unchecked"] == by_name["x.js", "add"]["unchecked"] == "not a Python function"
    assert not (tmp_path / "escaped.txt").exists()
    assert sorted(p.name for p in repo.iterdir()) == ["calc.py", "evil.py", "spawn.py"]


def test_budget_and_candidate_count_are_honoured(repo):
    results = [result("calc.py", "add_loop"), result("calc.py", "add_loop"), result("calc.py", "add_ok")]
    ranked = check_candidates(repo, results, plan(["f(1, 2) == 3"], budget_s=1.0, check_s=30.0, workers=1))
    looped, *rest = ranked
    assert looped["name"] == "add_loop" and looped["failures"][0]["error"].startswith("budget ran out")
    assert [r["unchecked"] for r in rest] == ["budget ran out", "budget ran out"]
    ranked = check_candidates(repo, [result("calc.py", "add_wrong"), result("calc.py", "add_ok")],
                              plan(["f(1, 2) == 3"], candidates=1))
    assert [r["name"] for r in ranked] == ["add_wrong", "add_ok"]
    assert ranked[1]["unchecked"] == "not among the candidates"
    ranked = check_candidates(repo, [result("calc.py", "add_one"), result("calc.py", "add_ok"), result("calc.py", "add_wrong")],
                              plan(["f(1, 2) == 3"], candidates=1))  # the first result that can take the call
    assert [(r["name"], r.get("unchecked")) for r in ranked] == [
        ("add_ok", None), ("add_one", "signature mismatch: takes at most 1 positional arguments, the check gives 2"),
        ("add_wrong", "not among the candidates")]


def test_counts_add_up_to_the_candidates_asked(repo):
    from codelm.tasks.search.verified import verified_search

    class Found:
        meta = {"roots": [str(repo)]}

        def search(self, query, k, language=None, path_glob=None, tests="rank"):
            names = ["add_one", "outer.inner", "add_ok", "add_kw", "add_wrong", "Adder.add", "add_loop"]
            return [result("calc.py", n, "method" if "." in n else "function") for n in names][:k]

    out = verified_search(Found(), "add", ["f(1, 2) == 3"], k=3, candidates=2)
    assert out["candidates"] == {"asked": 2, "run": 2, "not_run": 0, "passed_over": 3}  # add_ok, add_wrong run
    assert [u["name"] for u in out["unchecked"]] == ["add_one", "outer.inner", "add_kw"]  # not those after
    assert [r["name"] for r in out["results"]] == ["add_ok", "add_one", "outer.inner"]
