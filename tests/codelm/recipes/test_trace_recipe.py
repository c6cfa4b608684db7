"""Trace model: curriculum mixing, training, prediction and evaluation from the command line."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from codelm.recipes.trace import stage_mix

TINY = ["num_layers=1", "hidden_size=32", "num_heads=2", "intermediate_size=64", "threads=1",
        "progress=false", "warmup_steps=1", "batch_size=2", "eval_batches=1"]
RECORDS = {
    "singleline": [("a = 1\nb = a + 2\n",
                    "<line> <0> <state> a : 1 </state> <line> <1> <state> a : 1 <dictsep> b : 3 </state>")],
    "tutorial": [("x = 'hi'\nprint(x)\n",
                  "<line> <0> <state> x : hi </state> <line> <1> <state> x : hi </state> <output> hi")],
}


def write_stage(root: Path, kind: str) -> None:
    root.mkdir(parents=True)
    source, trace = RECORDS[kind][0]
    rec = {"source": source, "input": "", "trace_text": trace, "kind": kind, "status": "ok"}
    for split, n in (("train", 4), ("valid", 1), ("test", 1)):
        (root / f"{split}.jsonl").write_text("".join(json.dumps(rec) + "\n" for _ in range(n)))


def test_stage_mix_follows_the_weights_and_repeats_small_sets():
    data = {"a": [("a", i) for i in range(300)], "b": [("b", i) for i in range(30)]}
    mixed = stage_mix(data, {"a": 0.5, "b": 0.5}, seed=1)
    assert len(mixed) == 330
    counts = Counter(name for name, _ in mixed)
    assert 130 < counts["b"] < 200                      # about half, so b repeats
    assert mixed == stage_mix(data, {"a": 0.5, "b": 0.5}, seed=1)


@pytest.mark.slow
def test_train_predict_eval_two_stages(codelm_cli, tmp_path):
    for kind in RECORDS:
        write_stage(tmp_path / "data" / kind, kind)
    out = tmp_path / "run"
    r = codelm_cli("train", "trace", "--data", str(tmp_path / "data"), "--out", str(out),
                   "--stages", "singleline,tutorial", "--mix", "0.5,0.5", "--max-steps", "80",
                   "--max-length", "96", "--json", *TINY, "lr=4e-3", "eval_every=1000", "save_every=1000",
                   "value_weight=5")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert [s["datasets"] for s in summary["stages"]] == [["singleline"], ["singleline", "tutorial"]]
    assert (out / "stage1-singleline" / "checkpoint-80").is_dir()
    assert (out / "stage2-tutorial" / "checkpoint-80").is_dir()
    settings = json.loads((out / "trace_config.json").read_text())
    assert settings["max_length"] == 96 and settings["value_weight"] == 5.0
    # both programs are memorised: the prediction is the gold trace
    prog = tmp_path / "prog.py"
    prog.write_text(RECORDS["tutorial"][0][0])
    r = codelm_cli("predict-trace", str(prog), "--model", str(out), "--json", "--threads", "1")
    assert r.returncode == 0, r.stderr
    pred = json.loads(r.stdout)
    assert pred["trace_text"] == RECORDS["tutorial"][0][1]
    assert pred["steps"][-1] == {"line": 1, "state": {"x": "hi"}, "output": "hi"}
    assert pred["decoding"]["trace_tokens"] > 0
    r = codelm_cli("eval", "trace", "--data", str(tmp_path / "data"), "--model", str(out), "--json",
                   "--threads", "1")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result["by_stage"]) == {"singleline", "tutorial"}
    assert result["all"]["trace_acc"] == 100.0 and result["by_stage"]["tutorial"]["output_acc"] == 100.0
    r = codelm_cli("eval", "trace", "--data", str(tmp_path / "data"), "--model", str(out), "--threads", "1")
    assert r.returncode == 0 and "line_f1" in r.stdout and "tutorial" in r.stdout


def test_missing_stage_data_is_a_usage_error(codelm_cli, tmp_path):
    write_stage(tmp_path / "data" / "singleline", "singleline")
    r = codelm_cli("train", "trace", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                   "--stages", "singleline,codenet", "--max-steps", "1", *TINY)
    assert r.returncode == 2
    assert "codenet" in r.stderr and "codelm dataset trace" in r.stderr
    r = codelm_cli("train", "trace", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                   "--mix", "a,b")
    assert r.returncode == 2 and "--mix" in r.stderr
    r = codelm_cli("train", "trace", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run"),
                   "--mix", "0", "value_weight=x")
    assert r.returncode == 2 and "positive" in r.stderr
    r = codelm_cli("predict-trace", str(tmp_path / "nope.py"), "--model", str(tmp_path))
    assert r.returncode == 2 and "no such file" in r.stderr
