"""Datasets: determinism, dedup, split by origin, resume after a kill, the curriculum mixer.

The tracer here is a small in-process stand-in (`fake_trace`), so these tests check the
dataset logic alone; the sandboxed tracer is tested in its own files.
"""

import contextlib
import io
import json
import sys
from collections import Counter
from itertools import islice

import pytest

from tracer.curriculum import curriculum, mix
from tracer.datasets import build, read_split, record_key, split_of
from tracer.format import parse_codeexecutor
from tracer.schema import Step, Trace
from tracer.singleline import TEMPLATES, generate


class _TooLong(Exception):
    pass


def fake_trace(source, path="prog.py", stdin="", limits=None):
    """Run `source` in-process, recording line events of its module frame (max 500)."""
    steps = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == "<prog>" and event == "line":
            if len(steps) >= 500:
                raise _TooLong
            steps.append(Step(frame.f_lineno, {}))
        return tracer

    out, env = io.StringIO(), {"__name__": "__main__"}
    status, old_stdin = "ok", sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            sys.settrace(tracer)
            try:
                exec(compile(source, "<prog>", "exec"), env)
            finally:
                sys.settrace(None)
    except _TooLong:
        status = "too_long"
    except Exception:  # noqa: BLE001 - a stand-in for the sandbox's statuses
        status = "exception"
    finally:
        sys.stdin = old_stdin
    names = {k: repr(v) for k, v in env.items() if not k.startswith("__") and isinstance(v, (int, str, list, dict))}
    if steps:
        steps[-1].state = names
    return Trace(path, status, out.getvalue(), steps=steps)


TUTORIAL = {
    "loops.py": "total = 0\nfor i in range(4):\n    if i % 2 == 0:\n        total += i * 3\nprint(total)\n",
    "words.py": "s = 'hello world'\nparts = s.split(' ')\nprint(len(parts), parts[0][1:3])\n",
    "fact.py": "n, f = 5, 1\nwhile n > 1:\n    f *= n\n    n -= 1\nprint(f)\n",
    "copy_of_fact.py": "n, f = 5, 1\nwhile n > 1:\n    f *= n\n    n -= 1\nprint(f)\n",
    "boom.py": "x = [1]\nprint(x[3])\n",
    "sub/evens.py": "xs = [1, 2, 3, 4, 5, 6]\nprint([x for x in xs if x % 2 == 0][:2])\n",
}


def _tutorial(tmp_path):
    src = tmp_path / "tut"
    for name, text in TUTORIAL.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    return src


def _files(out):
    return {p.name: p.read_text() for p in sorted(out.iterdir()) if p.suffix in (".jsonl", ".txt")}


def _records(out):
    return [r for split in ("train", "valid", "test") for r in read_split(out, split)]


def test_singleline_programs_are_deterministic_and_cover_templates():
    assert generate(50, seed=3) == generate(50, seed=3)
    assert generate(50, seed=3) != generate(50, seed=4)
    for program in generate(len(TEMPLATES), seed=0):
        fake = fake_trace(program)
        assert fake.status == "ok", program


def test_singleline_build_is_deterministic_across_workers(tmp_path):
    one = build("singleline", tmp_path / "a", limit=30, seed=7, trace_fn=fake_trace, progress=False)
    two = build("singleline", tmp_path / "b", limit=30, seed=7, workers=2, trace_fn=fake_trace, progress=False)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert one["records"] == two["records"] and sum(one["records"].values()) == 30 - one["duplicates"]
    rec = _records(tmp_path / "a")[0]
    assert set(rec) >= {"id", "origin", "kind", "source", "input", "status", "trace_text", "trace"}
    assert rec["kind"] == "singleline" and rec["status"] == "ok"
    assert [s.line for s in parse_codeexecutor(rec["trace_text"])] == [s["line"] - 1 for s in rec["trace"]["steps"]]


def test_tutorial_dedup_mutants_and_split_by_origin(tmp_path):
    out = tmp_path / "out"
    summary = build("tutorial", out, src=_tutorial(tmp_path), mutants=3, seed=1, trace_fn=fake_trace,
                    progress=False)
    records = _records(out)
    keys = [record_key(r["source"], r["input"]) for r in records]
    assert len(keys) == len(set(keys)) and summary["duplicates"] >= 1
    origins = {r["origin"] for r in records}
    assert "copy_of_fact.py" in origins or "fact.py" in origins
    assert not ({"copy_of_fact.py", "fact.py"} <= {r["origin"] for r in records if r["mutation"] is None})
    assert {r["status"] for r in records if r["origin"] == "boom.py"} == {"exception"}
    mutated = [r for r in records if r["mutation"]]
    assert mutated and all(r["status"] == "ok" for r in mutated)
    by_origin = Counter(r["origin"] for r in mutated)
    assert max(by_origin.values()) <= 3
    for split in ("train", "valid", "test"):
        for r in read_split(out, split):
            assert split_of(r["origin"], 1) == split


def test_codenet_layout_runs_each_solution_on_each_input(tmp_path):
    src = tmp_path / "codenet"
    (src / "p001").mkdir(parents=True)
    (src / "p001" / "s1.py").write_text("a, b = map(int, input().split())\nprint(a + b)\n")
    (src / "p001" / "s2.py").write_text("print(sum(int(t) for t in input().split()))\n")
    (src / "p001" / "input1.txt").write_text("1 2\n")
    (src / "p001" / "input2.txt").write_text("5 7\n")
    build("codenet", tmp_path / "out", src=src, seed=0, trace_fn=fake_trace, progress=False)
    records = _records(tmp_path / "out")
    assert sorted((r["origin"], r["input"]) for r in records) == [
        ("p001/s1.py", "1 2\n"), ("p001/s1.py", "5 7\n"), ("p001/s2.py", "1 2\n"), ("p001/s2.py", "5 7\n")]
    assert {r["trace"]["stdout"] for r in records} == {"3\n", "12\n"}


def test_resume_after_a_kill_gives_no_duplicates(tmp_path):
    src = _tutorial(tmp_path)
    full = tmp_path / "full"
    build("tutorial", full, src=src, mutants=2, seed=2, trace_fn=fake_trace, progress=False)
    part = tmp_path / "part"
    first = build("tutorial", part, src=src, mutants=2, seed=2, limit=3, trace_fn=fake_trace, progress=False)
    assert first["programs"] == 3
    # a kill mid-write: records of an origin not yet in done.txt, and a torn last line
    stray = dict(_records(full)[-1], origin="words.py")
    with open(part / "train.jsonl", "a") as f:
        f.write(json.dumps(stray) + "\n" + '{"id": "torn", "orig')
    with open(part / "done.txt", "a") as f:
        f.write("word")
    second = build("tutorial", part, src=src, mutants=2, seed=2, trace_fn=fake_trace, progress=False)
    assert second["already_done"] == 3 and second["programs"] == len(TUTORIAL) - 3
    assert _files(part) == _files(full)
    ids = [r["id"] for r in _records(part)]
    assert len(ids) == len(set(ids))
    again = build("tutorial", part, src=src, mutants=2, seed=2, trace_fn=fake_trace, progress=False)
    assert again["programs"] == 0 and _files(part) == _files(full)


def test_mix_follows_proportions_and_drains_everything():
    stages = {"a": range(3000), "b": range(10_000, 13_000), "c": range(20_000, 23_000)}
    first = [name for name, _ in islice(mix(stages, {"a": 1, "b": 1, "c": 1}, seed=0), 3000)]
    shares = Counter(first)
    assert all(900 < shares[n] < 1100 for n in "abc")
    drawn = list(mix(stages, {"a": 2, "b": 1, "c": 1}, seed=5))
    assert len(drawn) == 9000 and drawn == list(mix(stages, {"a": 2, "b": 1, "c": 1}, seed=5))
    a_items = [x for n, x in drawn if n == "a"]
    assert a_items == list(range(3000))
    assert Counter(n for n, _ in drawn[:2000])["a"] > 800
    assert {n for n, _ in curriculum(stages | {"singleline": [1, 2]}, 1)} == {"singleline"}
    with pytest.raises(ValueError):
        list(curriculum({"singleline": []}, 3))
    with pytest.raises(ValueError):
        list(mix(stages, {"zzz": 1}))


def test_dataset_trace_command_usage_errors(tmp_path, codelm_cli):
    done = codelm_cli("dataset", "trace", "--kind", "tutorial", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and done.stderr.startswith("error:")
    done = codelm_cli("dataset", "trace", "--kind", "singleline", "--out", str(tmp_path / "o"), "--workers", "0")
    assert done.returncode == 2


def test_dataset_trace_command_end_to_end(tmp_path, codelm_cli):
    src = tmp_path / "tut"
    src.mkdir()
    (src / "a.py").write_text("n = 3\nwhile n > 0:\n    n -= 1\nprint(n, 'done')\n")
    out = tmp_path / "out"
    args = ("dataset", "trace", "--kind", "tutorial", "--src", str(src), "--out", str(out),
            "--mutants", "2", "--workers", "2", "--json")
    done = codelm_cli(*args)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["programs"] == 1 and sum(summary["records"].values()) == 3
    records = _records(out)
    assert records[0]["trace_text"].startswith("<line> <0> <state> n : 3 </state>")
    assert all(r["status"] == "ok" for r in records) and len({r["source"] for r in records}) == 3
    again = json.loads(codelm_cli(*args).stdout)
    assert again["programs"] == 0 and again["already_done"] == 1 and again["records"] == summary["records"]
