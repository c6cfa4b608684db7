"""The contrastive objective: texts, loss values against hand computation, learning."""

from __future__ import annotations

import math

import pytest
import torch

from codelm.objectives import get_objective
from codelm.objectives.contrastive import Contrastive
from indexers.text import record_text

RECORDS = [
    {"id": "a", "nl": "Return the sum of two numbers.", "code": "def add(a, b):\n    return a + b\n",
     "path": "lib/math_ops.py", "name": "add"},
    {"id": "b", "nl": "Open a file and read all its lines.",
     "code": "def read_lines(path):\n    with open(path) as f:\n        return f.readlines()\n",
     "path": "lib/io_ops.py", "name": "Reader.read_lines"},
    {"id": "c", "nl": "Sort the items in reverse order.",
     "code": "def sort_desc(items):\n    return sorted(items, reverse=True)\n", "path": "lib/seq.py", "name": "sort_desc"},
    {"id": "d", "nl": "Join words with a single space.",
     "code": "def join_words(words):\n    return ' '.join(words)\n", "path": "lib/text.py", "name": "join_words"},
    {"id": "e", "nl": "", "code": "def unused():\n    pass\n", "path": "lib/x.py", "name": "unused"},
]


def test_record_text_is_name_kind_path_then_code() -> None:
    text = record_text(RECORDS[1])
    assert text.splitlines()[0] == "reader read lines (method in lib/io_ops.py)"
    assert "def read_lines(path):" in text and "Open a file" not in text


class FixedEmbedder(torch.nn.Module):
    """embed() returns a fixed unit vector per first token id (queries 0.., codes 100..)."""

    def __init__(self, table: dict[int, list[float]]) -> None:
        super().__init__()
        self.table = table
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        rows = torch.tensor([self.table[int(i)] for i in ids[:, 0]], dtype=torch.float32)
        return torch.nn.functional.normalize(rows, dim=-1) + 0 * self.dummy


def _batch(n_query: int, n_code: int) -> dict:
    def part(start: int, n: int) -> dict:
        return {"input_ids": torch.arange(start, start + n)[:, None], "attention_mask": torch.ones(n, 1, dtype=torch.long)}
    return {"query": part(0, n_query), "code": part(100, n_code)}


def _xent(row: list[float], target: int) -> float:
    return -row[target] + math.log(sum(math.exp(v) for v in row))


@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_loss_matches_hand_computation(temperature: float) -> None:
    # q0 = c0 = (1, 0); q1 = (0, 1), c1 = (0.6, 0.8): cosines [[1, .6], [0, .8]]
    model = FixedEmbedder({0: [1, 0], 1: [0, 1], 100: [1, 0], 101: [0.6, 0.8]})
    sims = [[1.0, 0.6], [0.0, 0.8]]
    t = temperature
    q2c = (_xent([s / t for s in sims[0]], 0) + _xent([s / t for s in sims[1]], 1)) / 2
    c2q = (_xent([sims[0][0] / t, sims[1][0] / t], 0) + _xent([sims[0][1] / t, sims[1][1] / t], 1)) / 2
    one_way = Contrastive(tokenizer="minilm", temperature=t, symmetric=False)
    both = Contrastive(tokenizer="minilm", temperature=t, symmetric=True)
    assert float(one_way(model, _batch(2, 2))[0].detach()) == pytest.approx(q2c, rel=1e-5)
    assert float(both(model, _batch(2, 2))[0].detach()) == pytest.approx((q2c + c2q) / 2, rel=1e-5)


def test_hard_negatives_join_the_candidates() -> None:
    model = FixedEmbedder({0: [1, 0], 1: [0, 1], 100: [1, 0], 101: [0, 1], 102: [0.8, 0.6]})
    t = 0.1
    obj = Contrastive(tokenizer="minilm", temperature=t, symmetric=False)
    expected = (_xent([1 / t, 0, 0.8 / t], 0) + _xent([0, 1 / t, 0.6 / t], 1)) / 2
    assert float(obj(model, _batch(2, 3))[0].detach()) == pytest.approx(expected, rel=1e-5)


def test_fit_mines_a_bm25_negative_other_than_the_positive() -> None:
    obj = Contrastive(tokenizer="minilm", hard_negatives=True)
    obj.fit(RECORDS)
    assert obj.hard and all(record_text(r) not in obj.hard[r["id"]] for r in RECORDS if r["id"] in obj.hard)
    batch = obj.collate(RECORDS, torch.Generator())
    assert batch["query"]["input_ids"].shape[0] == 4  # the unimodal record is dropped
    assert batch["code"]["input_ids"].shape[0] == 4 + sum(bool(obj.hard.get(r["id"])) for r in RECORDS[:4])


def test_queries_are_summaries_first_sentences_or_names_in_words() -> None:
    record = {**RECORDS[1], "nl": "Open a file and read all its lines. Then close it."}
    obj = Contrastive(tokenizer="minilm", sentence_share=0.5, name_share=0.2)
    assert obj.query(record, 0.1) == "reader read lines"
    assert obj.query(record, 0.5) == "Open a file and read all its lines"
    assert obj.query(record, 0.9) == record["nl"]
    plain = Contrastive(tokenizer="minilm")
    assert {plain.query(record, d) for d in (0.0, 0.5, 0.99)} == {record["nl"]}


@pytest.mark.slow
def test_loss_decreases_when_fine_tuning_minilm() -> None:
    from codelm.core.checkpoint import load_pretrained

    torch.manual_seed(0)
    model = load_pretrained("minilm").train()
    for name, p in model.named_parameters():  # only the top layer learns: a quicker backward
        p.requires_grad_(name.startswith(f"blocks.{model.config.num_layers - 1}."))
    obj = get_objective("contrastive", tokenizer="minilm", max_length=48, temperature=0.05)
    batch = obj.collate(RECORDS, torch.Generator())
    assert batch["query"]["input_ids"][0, 0] == 101  # [CLS] of MiniLM's WordPiece vocabulary
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    losses = []
    for _ in range(3):
        loss, metrics = obj(model, batch)
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < losses[0] and 0.0 <= metrics["acc"] <= 1.0
