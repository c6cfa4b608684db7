"""CodeExecutor metrics on hand-computed examples, and the `trace-eval` command."""

import json

import pytest

from tracer.metrics import KEYS, score_traces

GOLD = ("<line> <0> <state> a : 1 </state> "
        "<line> <1> <state> a : 1 <dictsep> b : 2 </state> <output> 3 "
        "<line> <2> <state> a : 1 <dictsep> b : 2 <dictsep> c : 3 </state>")


def test_perfect_prediction_scores_100_everywhere():
    assert score_traces([GOLD], [GOLD]) == {key: 100.0 for key in KEYS}


def test_partial_prediction_by_hand():
    # gold sentences: L0{a}, L1{a,b}, OUT 3, L2{a,b,c}  -> 4 sentences, 6 identifiers
    # pred: L0{a:1} right; L1{a:1,b:5} wrong state (a credited); OUT 3 right;
    #       L3{a:1,b:2,c:3} wrong line (no identifier credit); 4 sentences, 6 identifiers
    pred = ("<line> <0> <state> a : 1 </state> "
            "<line> <1> <state> a : 1 <dictsep> b : 5 </state> <output> 3 "
            "<line> <3> <state> a : 1 <dictsep> b : 2 <dictsep> c : 3 </state>")
    got = score_traces([GOLD], [pred])
    assert got["output_acc"] == 100.0
    assert got["trace_acc"] == 0.0
    assert (got["line_precision"], got["line_recall"], got["line_f1"]) == (50.0, 50.0, 50.0)
    assert (got["id_precision"], got["id_recall"], got["id_f1"]) == (33.33, 33.33, 33.33)


def test_short_prediction_and_micro_averaging_by_hand():
    # example 1: pred has only the first gold sentence: 1 right of 1 predicted, of 4 gold
    # example 2: perfect (4 of 4); micro: right 5, predicted 5, gold 8
    pred = "<line> <0> <state> a : 1 </state>"
    got = score_traces([GOLD, GOLD], [pred, GOLD])
    assert got["line_precision"] == 100.0 and got["line_recall"] == 62.5
    assert got["line_f1"] == round(100 * 2 * 1 * 0.625 / 1.625, 2)
    # identifiers: right 1 + 6, predicted 1 + 6, gold 12
    assert got["id_precision"] == 100.0 and got["id_recall"] == round(100 * 7 / 12, 2)
    assert got["trace_acc"] == 50.0 and got["output_acc"] == 50.0


def test_incomplete_last_step_is_dropped():
    # the prediction was cut short inside the last state: 3 complete sentences, all right
    cut = GOLD[:GOLD.rindex("<dictsep> c")]
    got = score_traces([GOLD], [cut])
    assert got["line_precision"] == 100.0 and got["line_recall"] == 75.0 and got["trace_acc"] == 0.0
    assert got["id_precision"] == 100.0 and got["id_recall"] == 50.0


def test_garbage_prediction_scores_zero_and_counts_must_match():
    got = score_traces([GOLD], ["<line> <state> nonsense"])
    assert got == {key: 0.0 for key in KEYS}
    with pytest.raises(ValueError):
        score_traces([GOLD], [])


def test_trace_eval_command(tmp_path, codelm_cli):
    gold, pred, short = tmp_path / "gold.txt", tmp_path / "pred.txt", tmp_path / "short.txt"
    gold.write_text(GOLD + "\n" + GOLD + "\n")
    pred.write_text(GOLD + "\n<line> <0> <state> a : 1 </state>\n")
    short.write_text(GOLD + "\n")
    done = codelm_cli("trace-eval", "--gold", str(gold), "--pred", str(pred), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == set(KEYS) and out["trace_acc"] == 50.0 and out["line_precision"] == 100.0
    text = codelm_cli("score", "trace", "--gold", str(gold), "--pred", str(pred))  # the new name of trace-eval
    assert text.returncode == 0 and "line_f1" in text.stdout
    bad = codelm_cli("trace-eval", "--gold", str(gold), "--pred", str(short), "--json")
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and bad.stdout == ""
    missing = codelm_cli("trace-eval", "--gold", str(tmp_path / "nope.txt"), "--pred", str(pred))
    assert missing.returncode == 2
