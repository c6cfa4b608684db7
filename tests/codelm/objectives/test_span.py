"""T5 span corruption: statistics, reconstruction, and the loss."""

from __future__ import annotations

import random

import pytest
import torch

from codelm.core.config import ModelConfig
from codelm.core.model import CodeLM
from codelm.objectives import get_objective
from codelm.objectives.span import corrupt, noise_spans, random_split
from codelm.core.tokenizer import default_tokenizer


def uncorrupt(source: list[int], target: list[int], sentinels: set[int]) -> list[int]:
    """Put each span of the target back in place of its sentinel in the source."""
    spans, current = {}, None
    for t in target:
        if t in sentinels:
            current = spans.setdefault(t, [])
        else:
            current.append(t)
    return [x for s in source for x in (spans[s] if s in sentinels else [s])]


def test_random_split_is_positive_and_sums():
    g = torch.Generator().manual_seed(0)
    for total, parts in [(30, 10), (5, 5), (7, 1)]:
        split = random_split(total, parts, g)
        assert len(split) == parts and sum(split) == total and min(split) >= 1


def test_noise_statistics():
    g = torch.Generator().manual_seed(1)
    spans = noise_spans(200, g)
    # round(0.15 * 200) = 30 noise tokens in round(30 / 3) = 10 spans, none at the start,
    # none touching (kept runs between them are positive)
    assert sum(e - s for s, e in spans) == 30 and len(spans) == 10
    assert spans[0][0] >= 1
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    rng, noise, total, count = random.Random(0), 0, 0, 0
    for _ in range(300):
        n = rng.randrange(20, 300)
        sp = noise_spans(n, g)
        noise += sum(e - s for s, e in sp)
        total += n
        count += len(sp)
    assert noise / total == pytest.approx(0.15, abs=0.005)
    assert noise / count == pytest.approx(3.0, abs=0.3)


def test_short_sequences_still_get_one_span():
    g = torch.Generator().manual_seed(2)
    assert noise_spans(2, g) == [(1, 2)]
    spans = noise_spans(5, g)
    assert len(spans) == 1 and spans[0][1] - spans[0][0] == 1 and spans[0][0] >= 1


def test_source_and_target_reconstruct_the_original():
    g = torch.Generator().manual_seed(3)
    sentinels = list(range(1000, 1064))
    for n in (2, 3, 17, 100, 257):
        tokens = torch.randint(5, 900, (n,), generator=g).tolist()
        spans = noise_spans(n, g)
        source, target = corrupt(tokens, spans, sentinels)
        assert target[0] == sentinels[0]
        assert [t for t in source if t >= 1000] == sentinels[:len(spans)]
        assert uncorrupt(source, target, set(sentinels)) == tokens


def test_span_objective_batches_and_loss(one_thread):
    tok = default_tokenizer()
    obj = get_objective("span", tokenizer=tok, max_length=64)
    code = tok.encode("def add(a, b):\n    return a + b\n")
    batch = obj.collate([{"nl": [], "code": code}, {"nl": [], "code": code[:5]}, {"nl": [], "code": [7]}],
                        torch.Generator().manual_seed(0))
    assert batch["input_ids"].shape[0] == 2  # the one-token example is skipped
    ids = batch["input_ids"][0].tolist()
    s = batch["prefix_length"]
    assert ids[:2] == [tok.cls_id, tok.token_id("<encoder-decoder>")] and ids[s - 1] == tok.sep_id
    assert batch["labels"][0, 0] == tok.token_id("<extra_0>")
    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=tok.vocab_size, pad_token_id=tok.pad_id,
                                      max_position_embeddings=80))
    loss, metrics = obj(model, batch)
    assert torch.isfinite(loss) and loss.item() > 0
    assert obj.collate([{"nl": [], "code": [7]}], torch.Generator()) is None
