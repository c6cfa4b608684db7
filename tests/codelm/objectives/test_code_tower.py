"""The code-tower objective: codes against the fixed query vectors of the corpus, the mirror of the query tower."""

from __future__ import annotations

import math

import pytest
import torch

from codelm.objectives.code_tower import CodeTower
from tests.codelm.objectives.test_contrastive import RECORDS, FixedEmbedder


def _xent(row: list[float], target: int) -> float:
    return -row[target] + math.log(sum(math.exp(v) for v in row))


def test_every_query_is_a_candidate_and_one_with_the_same_sentence_is_no_negative() -> None:
    t = 0.1
    obj = CodeTower(tokenizer="minilm", temperature=t)
    # codes c0 = (1, 0), c1 = (0, 1); queries (1, 0), (0, 1), (0.8, 0.6); query 2 is query 0's sentence
    obj.fixed = torch.nn.functional.normalize(torch.tensor([[1.0, 0], [0, 1], [0.8, 0.6]]), dim=-1)
    obj.group = torch.tensor([0, 1, 0])
    model = FixedEmbedder({0: [1, 0], 1: [0, 1]})
    batch = {"code": {"input_ids": torch.tensor([[0, 5], [1, 5]]), "attention_mask": torch.ones(2, 2, dtype=torch.long)},
             "rows": torch.tensor([0, 1])}
    loss, metrics = obj(model, batch)
    expected = (_xent([1 / t, 0], 0) + _xent([0, 1 / t, 0.6 / t], 1)) / 2  # code 0 never sees query 2
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    assert metrics["acc"] == 1.0 and metrics["tokens"] == 4.0


def test_collate_reads_the_code_and_groups_by_first_sentence(monkeypatch) -> None:
    import codelm.objectives.code_tower as module

    records = [*RECORDS, {**RECORDS[0], "id": "f", "nl": "Return the sum of two numbers.\n\nIn full."}]
    monkeypatch.setattr(module, "query_vectors", lambda pairs, model, cache: torch.eye(8)[:len(pairs)].numpy())
    obj = CodeTower(tokenizer="minilm", max_length=16)
    obj.fit(records)
    assert obj.group.tolist() == [0, 1, 2, 3, 0]  # "f" shares "a"'s first sentence; "e" has no summary
    batch = obj.collate(records, torch.Generator())
    assert batch["rows"].tolist() == [0, 1, 2, 3, 4]
    ids = batch["code"]["input_ids"]
    assert ids.shape == (5, 16)  # the code texts, cut to max_length
    assert obj.collate(RECORDS[4:], torch.Generator()) is None
