"""Scoring docstring models: BLEU-4 / ROUGE-L / exact match of a model and of the two baselines
(name template, BM25 retrieval) on a corpus split, and the share of generated bodies that parse."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import CodelmError
from codelm.tasks.docstring.infer import generate_docstrings, generate_texts, load_model


def body_parse_rate(model: Any, tokenizer: Any, records: Sequence[dict], **generation: Any) -> float:
    """Percent of bodies generated from signature + docstring (PyMT5's `# target body`) that
    parse as Python under their signature."""
    from codelm.tasks.docstring.metrics import python_parses
    from codelm.tasks.docstring.prompt import DIRECTIONS, features_of, source_text

    given, target = DIRECTIONS[2]
    features = [f for f in (features_of(r["code"], r.get("nl", "")) for r in records) if f and f["docstring"]]
    if not features:
        return 0.0
    generation = {k: v for k, v in generation.items() if k not in ("copy", "memory")}  # the frozen model's
    bodies = generate_texts(model, tokenizer, [source_text(f, given, target) for f in features], **generation)
    ok = sum(python_parses(f"{f['signature']}\n{b}") for f, b in zip(features, bodies))
    return 100 * ok / len(features)


def evaluate(data: str | Path, model_dir: str | Path | None = None, split: str = "valid",
             limit: int | None = None, with_model: bool = True, bodies: bool = False,
             outputs: bool = False, **generation: Any) -> dict[str, Any]:
    """BLEU-4 / ROUGE-L / exact match of the model and of both baselines on the bimodal
    records of `split`, references being their docstring summaries (`nl`); with `bodies`,
    also the percent of generated bodies that parse (`body_parses`); with `outputs`, every
    system's docstrings and the references (`outputs`: name -> list, in record order)."""
    from codelm.tasks.docstring.baselines import RetrievalBaseline, template_docstring
    from codelm.tasks.docstring.metrics import text_scores
    from indexers.corpus import read_corpus

    records = [r for r in read_corpus(data, split) if r.get("nl")][:limit]
    train = [r for r in read_corpus(data, "train") if r.get("nl")]
    if not records or not train:
        raise CodelmError(f"{data}: need documented functions in the train and {split} splits")
    refs = [r["nl"] for r in records]
    retrieval = RetrievalBaseline([r["code"] for r in train], [r["nl"] for r in train])
    texts = {"template": [template_docstring(r["name"]) for r in records],
             "retrieval": [retrieval(r["code"]) for r in records]}
    result: dict[str, Any] = {"split": split, "count": len(records),
                              **{name: text_scores(t, refs) for name, t in texts.items()}}
    if with_model:
        model, tok = load_model(model_dir)
        began = time.perf_counter()
        predictions = generate_docstrings(model, tok, [r["code"] for r in records], **generation)
        result["model"] = text_scores(predictions, refs)
        texts["model"] = predictions
        result["docstrings_per_second"] = len(records) / max(time.perf_counter() - began, 1e-9)
        if bodies:
            result["body_parses"] = body_parse_rate(model, tok, records, **generation)
    if outputs:
        result["outputs"] = {**texts, "reference": refs, "name": [r["name"] for r in records]}
    return result
