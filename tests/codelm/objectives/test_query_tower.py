"""The query-tower objective: full-corpus softmax against fixed code vectors, same-summary masking."""

from __future__ import annotations

import math

import pytest
import torch

from codelm.objectives.query_tower import QueryTower
from tests.codelm.objectives.test_contrastive import RECORDS, FixedEmbedder


def _xent(row: list[float], target: int) -> float:
    return -row[target] + math.log(sum(math.exp(v) for v in row))


def _tower(summaries: list[str], codes: list[list[float]], temperature: float) -> QueryTower:
    obj = QueryTower(tokenizer="minilm", temperature=temperature)
    obj.fixed = torch.nn.functional.normalize(torch.tensor(codes), dim=-1)
    obj.keys = summaries
    obj.group = torch.tensor([summaries.index(s) for s in summaries])
    return obj


def test_every_code_is_a_candidate_and_a_code_with_the_same_summary_is_no_negative() -> None:
    t = 0.1
    # q0 = (1, 0), q1 = (0, 1); codes (1, 0), (0, 1), (0.8, 0.6); code 2 shares query 0's summary
    model = FixedEmbedder({0: [1, 0], 1: [0, 1]})
    obj = _tower(["sum", "read", "sum"], [[1, 0], [0, 1], [0.8, 0.6]], t)
    batch = {"query": {"input_ids": torch.tensor([[0], [1]]), "attention_mask": torch.ones(2, 1, dtype=torch.long)},
             "rows": torch.tensor([0, 1])}
    loss, metrics = obj(model, batch)
    expected = (_xent([1 / t, 0], 0) + _xent([0, 1 / t, 0.6 / t], 1)) / 2  # query 0 never sees code 2
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    assert metrics["acc"] == 1.0 and metrics["tokens"] == 2.0


def test_collate_draws_queries_and_points_at_their_codes() -> None:
    obj = QueryTower(tokenizer="minilm", sentence_share=0.0, name_share=0.0)
    obj.row = {"b": 1, "a": 0}
    batch = obj.collate(RECORDS, torch.Generator())
    assert batch["rows"].tolist() == [0, 1]  # records without a code row or a summary are left out
    assert batch["query"]["input_ids"].shape[0] == 2
    assert obj.collate(RECORDS[2:], torch.Generator()) is None
