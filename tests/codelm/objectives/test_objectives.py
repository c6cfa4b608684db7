"""Objectives: masking and replacement statistics, generators, the registry."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codelm.errors import UsageError
from codelm.objectives import Combined, get_objective
from codelm.objectives.data import build_inputs
from codelm.objectives.mlm import IGNORE, mask_tokens
from codelm.objectives.rtd import BigramGenerator

from tests.codelm.tiny_data import stand_in_tokenizer, synthetic_examples

VOCAB = 64


def _random_batch(seed: int, rows: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (rows, width), generator=g)
    maskable = torch.rand(rows, width, generator=g) < 0.8
    ids[~maskable] = 0  # stands for special tokens
    return ids, maskable


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), prob=st.sampled_from([0.15, 0.3]))
def test_masking_proportions_and_specials(seed, prob):
    ids, maskable = _random_batch(seed, 64, 64)
    g = torch.Generator().manual_seed(seed + 1)
    out, labels = mask_tokens(ids, maskable, mask_id=4, low=5, high=VOCAB, generator=g, prob=prob)
    chosen = labels != IGNORE
    assert not (chosen & ~maskable).any()  # special tokens are never chosen
    assert torch.equal(out[~maskable], ids[~maskable])  # nor changed
    assert torch.equal(labels[chosen], ids[chosen])
    n = int(chosen.sum())
    share = n / int(maskable.sum())
    assert abs(share - prob) < 0.035
    masked = float((out[chosen] == 4).sum()) / n
    kept = float((out[chosen] == ids[chosen]).sum()) / n
    assert abs(masked - 0.8) < 0.06
    assert abs(kept - 0.1 - 0.1 / (VOCAB - 5)) < 0.05  # 10% kept + random ids equal to the original
    assert int(out[chosen].min()) >= 4  # replacements come from the non-special vocabulary


def test_masking_always_chooses_one():
    ids = torch.full((1, 3), 7)
    out, labels = mask_tokens(ids, torch.tensor([[False, True, False]]), 4, 5, VOCAB,
                              torch.Generator().manual_seed(0), prob=0.0)
    assert (labels != IGNORE).tolist() == [[False, True, False]]


def test_build_inputs_layout():
    batch = build_inputs([{"nl": [10, 11], "code": [20]}, {"nl": [], "code": [21, 22, 23]}], 0, 2, 2, 1, 32)
    assert batch["input_ids"].tolist() == [[0, 10, 11, 2, 20, 2], [0, 2, 21, 22, 23, 2]]
    assert batch["segment"].tolist() == [[0, 1, 1, 0, 2, 0], [0, 0, 2, 2, 2, 0]]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1] * 6]


def test_bigram_generator_follows_the_data():
    gen = BigramGenerator(VOCAB, beta=0.5).fit([[10, 11, 12, 13]] * 50 + [[30, 31]] * 50, start_id=0)
    samples = gen.sample(torch.tensor([10] * 400 + [30] * 400), torch.Generator().manual_seed(0))
    assert float((samples[:400] == 11).float().mean()) > 0.9
    assert float((samples[400:] == 31).float().mean()) > 0.9
    assert 0 <= int(samples.min()) and int(samples.max()) < VOCAB


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_rtd_replacement_statistics(seed):
    tok = stand_in_tokenizer(VOCAB)
    rtd = get_objective("rtd", tokenizer=tok, max_length=64)
    rtd.fit([{"nl": list(range(5, VOCAB)), "code": list(range(VOCAB - 1, 4, -1))}])  # near-uniform generators
    examples = synthetic_examples(60, seed=seed)
    batch = build_inputs(examples, 0, 2, 2, 1, 64)
    ids, labels = rtd.corrupt(batch["input_ids"], batch["segment"], torch.Generator().manual_seed(seed))
    special = batch["segment"] == 0
    assert torch.equal(ids[special], batch["input_ids"][special])  # specials and padding untouched
    assert torch.equal(labels.bool(), ids != batch["input_ids"])  # same as original counts as original
    share = float(labels[~special].mean())
    assert 0.085 < share < 0.21  # 15% picked (about 600 tokens: +-4 sigma), minus samples equal to the original


def test_rtd_uses_unimodal_and_mlm_only_bimodal():
    tok = stand_in_tokenizer(VOCAB)
    obj = get_objective("mlm+rtd", tokenizer=tok, max_length=64)
    assert isinstance(obj, Combined)
    examples = synthetic_examples(6)
    obj.fit(examples)
    batch = obj.collate(examples, torch.Generator().manual_seed(0))
    assert batch["rtd"]["input_ids"].shape[0] == 6
    assert batch["mlm"]["input_ids"].shape[0] == 4  # every third example is unimodal
    only_code = obj.collate([examples[2]], torch.Generator().manual_seed(0))
    assert only_code["mlm"] is None


def test_unknown_objective_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown objective"):
        get_objective("mlm+nope", tokenizer=stand_in_tokenizer())


def test_combined_loss_is_the_sum(one_thread):
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM

    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=VOCAB, max_position_embeddings=80)).eval()
    tok = stand_in_tokenizer(VOCAB)
    obj = get_objective("mlm+rtd", tokenizer=tok, max_length=64)
    examples = synthetic_examples(8)
    obj.fit(examples)
    batch = obj.collate(examples, torch.Generator().manual_seed(3))
    with torch.no_grad():
        loss, metrics = obj(model, batch)
    assert loss.item() == pytest.approx(metrics["mlm_loss"] + metrics["rtd_loss"], rel=1e-5)
    assert 0.0 <= metrics["rtd_acc"] <= 1.0 and metrics["tokens"] > 0
