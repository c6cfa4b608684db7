"""Beam search, sampling and their helpers, on a tiny core and on a hand-made bigram model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from codelm.core.config import ModelConfig
from codelm.core.generate import (banned_ngram_tokens, beam_search, filter_logits, greedy,
                             length_normalized, sample)
from codelm.core.model import CodeLM, CoreOutput


@pytest.fixture(scope="module")
def model() -> CodeLM:
    torch.manual_seed(0)
    config = ModelConfig.preset("tiny", vocab_size=53, max_position_embeddings=80)
    return CodeLM(config).eval()


def prompt(shape, seed=1) -> torch.Tensor:
    return torch.randint(3, 53, shape, generator=torch.Generator().manual_seed(seed))


class Bigram(nn.Module):
    """A stand-in model whose next-token distribution depends on the last token only:
    probs[a][b] = P(b | a). The 'cache' is the token history, so reordering is checked too."""

    def __init__(self, probs: list[list[float]]) -> None:
        super().__init__()
        self.config = ModelConfig.preset("tiny", vocab_size=len(probs), pad_token_id=0)
        self.table = torch.tensor(probs).log()
        self.calls = 0

    def forward(self, input_ids, attention_mask=None, mode="decoder", prefix_lengths=None,
                past_key_values=None, use_cache=False):
        self.calls += 1
        ids = input_ids.float()[:, None, :, None]
        if past_key_values:
            ids = torch.cat([past_key_values[0][0], ids], dim=2)
        h = nn.functional.one_hot(input_ids, len(self.table)).float()
        return CoreOutput(h, [(ids, ids)] if use_cache else None)

    def lm_logits(self, h):
        return h @ self.table


# tokens: 0 pad, 1 eos, 2 start, 3, 4
E = 1e-4
LENGTH_TABLE = [
    [E, E, E, E, E],
    [E, E, E, E, E],
    [E, .55, E, .45, E],  # after start: stop now (.55) or go on with 3 (.45)
    [E, E, E, E, .9],     # 3 -> 4
    [E, .9, E, E, E],     # 4 -> eos
]


@pytest.mark.parametrize("mode", ["decoder", "prefix"])
def test_beam_width_one_equals_greedy(model, mode, one_thread):
    ids = prompt((3, 6))
    free = greedy(model, ids, max_new_tokens=10, mode=mode)
    eos = int(free[0, 3])
    expected = greedy(model, ids, max_new_tokens=10, eos_id=eos, mode=mode)
    got = beam_search(model, ids, max_new_tokens=10, num_beams=1, eos_id=eos, mode=mode)
    assert torch.equal(got, expected)


def test_beam_with_cache_equals_without(model, one_thread):
    ids = prompt((2, 5), seed=3)
    fast = beam_search(model, ids, 12, num_beams=3, eos_id=7, mode="prefix", no_repeat_ngram_size=2)
    slow = beam_search(model, ids, 12, num_beams=3, eos_id=7, mode="prefix", no_repeat_ngram_size=2,
                       use_cache=False)
    assert torch.equal(fast, slow)


def test_wider_beam_never_scores_worse_on_the_bigram_model():
    # raw log-probability ranking (penalty 0): width 2 finds "eos" (log .55) as greedy does,
    # and never anything less likely
    m = Bigram(LENGTH_TABLE)
    start = torch.tensor([[2]])
    assert beam_search(m, start, 5, num_beams=2, eos_id=1, length_penalty=0.0).tolist() == [[1]]


def test_length_penalty_changes_the_ranking_as_defined():
    m = Bigram(LENGTH_TABLE)
    start = torch.tensor([[2]])
    # short = [eos]: log .55 = -0.598 over 1 token; long = [3, 4, eos]: log .45 + 2 log .9 = -1.009
    short, long = math.log(.55), math.log(.45) + 2 * math.log(.9)
    # penalty 0: -0.598 > -1.009 -> short; penalty 1: -0.598 / 1 < -1.009 / 3 = -0.336 -> long
    assert length_normalized(short, 1, 0.0) > length_normalized(long, 3, 0.0)
    assert length_normalized(short, 1, 1.0) < length_normalized(long, 3, 1.0)
    assert beam_search(m, start, 5, num_beams=2, eos_id=1, length_penalty=0.0).tolist() == [[1]]
    assert beam_search(m, start, 5, num_beams=2, eos_id=1, length_penalty=1.0).tolist() == [[3, 4, 1]]


def test_no_repeat_ngrams_hold(model, one_thread):
    ids = prompt((2, 4), seed=5)
    for n in (1, 2, 3):
        out = beam_search(model, ids, 30, num_beams=3, no_repeat_ngram_size=n, mode="prefix")
        for row in out.tolist():
            grams = [tuple(row[i:i + n]) for i in range(len(row) - n + 1)]
            assert len(grams) == len(set(grams))
    # without blocking this tiny random model does repeat itself
    out = beam_search(model, ids, 30, num_beams=3, mode="prefix")
    assert any(len(set(zip(r, r[1:]))) < len(r) - 1 for r in out.tolist())


def test_banned_ngram_tokens():
    assert banned_ngram_tokens([5, 6, 7, 5, 6], 3) == {7}
    assert banned_ngram_tokens([5, 6, 5], 2) == {6}
    assert banned_ngram_tokens([5, 6], 3) == set()
    assert banned_ngram_tokens([5, 6], 1) == {5, 6}


def test_padding_in_the_source_is_ignored(model, one_thread):
    ids = prompt((2, 7), seed=9)
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    other = ids.clone()
    other[1, 4:] = 11  # different filler under the mask
    a = beam_search(model, ids, 8, num_beams=2, mode="prefix", attention_mask=mask)
    b = beam_search(model, other, 8, num_beams=2, mode="prefix", attention_mask=mask)
    assert torch.equal(a, b)


def test_filter_logits_top_k_and_top_p():
    logits = torch.tensor([[0.1, 0.2, 0.3, 0.4]]).log()
    kept = filter_logits(logits, top_k=2).isfinite().tolist()
    assert kept == [[False, False, True, True]]
    # nucleus .6: .4 (< .6) then .3 (.7 >= .6) -> two tokens; .4 exactly covers p=.4
    assert filter_logits(logits, top_p=0.6).isfinite().tolist() == [[False, False, True, True]]
    assert filter_logits(logits, top_p=0.4).isfinite().tolist() == [[False, False, False, True]]
    assert filter_logits(logits, top_p=0.75).isfinite().tolist() == [[False, True, True, True]]


def test_sampling_is_deterministic_under_a_seed(model, one_thread):
    ids = prompt((2, 5), seed=11)
    run = lambda seed, **kw: sample(model, ids, 15, mode="prefix", temperature=1.5,
                                    generator=torch.Generator().manual_seed(seed), **kw)
    assert torch.equal(run(1), run(1))
    assert torch.equal(run(1), run(1, use_cache=False))
    assert not torch.equal(run(1), run(2))
    # top_k=1 is greedy
    assert torch.equal(run(3, top_k=1), greedy(model, ids, 15, mode="prefix"))
