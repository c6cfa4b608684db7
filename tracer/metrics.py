"""The CodeExecutor metrics: how well predicted traces match gold ones.

A trace is read (`tracer.format.parse_codeexecutor`) into a sequence of sentences, in order:
each step is a `line` sentence (0-based line, state), each `<output>` segment an `output`
sentence, an `<exception>` segment (this project's addition, absent from CodeExecutor's data,
whose scores it leaves unchanged) an `exception` sentence; a last step whose state is not closed by `</state>` (text cut short) is dropped,
as CodeExecutor drops the incomplete last sentence. (CodeExecutor's own parser also loses
an `<output>` segment that ends the text; here it counts.) Sentence i of the prediction is
compared with sentence i of the gold trace:

- a line sentence matches when the line and the whole state (names and values) are equal;
  an output or exception sentence matches when its text is equal;
- identifiers: where the line numbers agree (state credit only there), every name whose value
  is equal in both counts as correct; precision divides by all names in predicted states,
  recall by all names in gold states;
- line precision / recall: matched sentences over predicted / gold sentences (micro-averaged
  over the whole set), F1 from the two;
- trace accuracy (exact match): every gold sentence matched and no extra predicted one;
- output accuracy: over examples whose gold trace printed something, the share whose
  predicted output segments equal the gold ones (over all examples if none printed).

Every figure is a percentage rounded to 2 decimals, as CodeExecutor reports them.
"""

from __future__ import annotations

from typing import Iterable

from tracer.format import ParsedStep, parse_codeexecutor

Sentence = tuple  # ("line", line, state), ("output", text) or ("exception", text)

KEYS = ("output_acc", "trace_acc", "line_precision", "line_recall", "line_f1",
        "id_precision", "id_recall", "id_f1")


def sentences(steps: list[ParsedStep]) -> list[Sentence]:
    """The comparable sentences of parsed steps, in order."""
    out: list[Sentence] = []
    if steps and not steps[-1].complete and not steps[-1].output:
        steps = steps[:-1]
    for step in steps:
        if step.line is not None:
            out.append(("line", step.line, step.state))
        if step.output:
            out.append(("output", step.output))
        if step.exception:
            out.append(("exception", step.exception))
    return out


def _outputs(sents: list[Sentence]) -> list[str]:
    return [s[1] for s in sents if s[0] == "output"]


def _ids(sents: list[Sentence]) -> int:
    return sum(len(s[2]) for s in sents if s[0] == "line")


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _prf(right: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p, r = _ratio(right, n_pred), _ratio(right, n_gold)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return round(100 * p, 2), round(100 * r, 2), round(100 * f1, 2)


def score_traces(golds: Iterable[str], preds: Iterable[str]) -> dict[str, float]:
    """The CodeExecutor metrics of predicted traces against gold ones (same count, same order),
    as a dict with the keys of `KEYS`, each a percentage."""
    golds, preds = list(golds), list(preds)
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold traces but {len(preds)} predicted ones")
    n_exact = n_out_same = n_out_gold = 0
    n_out_same_all = 0
    right = n_pred = n_gold = 0
    right_id = n_pred_id = n_gold_id = 0
    for gold_text, pred_text in zip(golds, preds):
        gold = sentences(parse_codeexecutor(gold_text))
        pred = sentences(parse_codeexecutor(pred_text))
        same_output = _outputs(gold) == _outputs(pred)
        n_out_same_all += same_output
        if _outputs(gold):
            n_out_gold += 1
            n_out_same += same_output
        same = 0
        for g, p in zip(gold, pred):
            same += g == p
            if g[0] == p[0] == "line" and g[1] == p[1]:
                right_id += sum(1 for name, value in p[2].items() if g[2].get(name) == value)
        right += same
        n_pred += len(pred)
        n_gold += len(gold)
        n_pred_id += _ids(pred)
        n_gold_id += _ids(gold)
        n_exact += same == len(gold) == len(pred)
    line_p, line_r, line_f1 = _prf(right, n_pred, n_gold)
    id_p, id_r, id_f1 = _prf(right_id, n_pred_id, n_gold_id)
    output = _ratio(n_out_same, n_out_gold) if n_out_gold else _ratio(n_out_same_all, len(golds))
    return {"output_acc": round(100 * output, 2), "trace_acc": round(100 * _ratio(n_exact, len(golds)), 2),
            "line_precision": line_p, "line_recall": line_r, "line_f1": line_f1,
            "id_precision": id_p, "id_recall": id_r, "id_f1": id_f1}


def score_files(gold_path: str, pred_path: str) -> dict[str, float]:
    """`score_traces` over two files holding one CodeExecutor-form trace a line."""
    with open(gold_path, encoding="utf-8") as g, open(pred_path, encoding="utf-8", errors="replace") as p:
        golds, preds = g.read().splitlines(), p.read().splitlines()
    return score_traces(golds, preds)
