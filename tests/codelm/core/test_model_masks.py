"""Attention modes checked by perturbation, padding, and the key/value cache."""

from __future__ import annotations

import pytest
import torch

from codelm.core.config import ModelConfig
from codelm.core.generate import greedy
from codelm.core.model import CodeLM, build_attention_mask

CHANGED = 1e-4  # an output moved by a perturbation moves by far more than this
SAME = 1e-6


@pytest.fixture(scope="module", params=["bert", "roberta"])
def model(request) -> CodeLM:
    torch.manual_seed(0)
    layout = request.param
    config = ModelConfig.preset("tiny", vocab_size=53, layout=layout, type_vocab_size=2,
                                pad_token_id=1 if layout == "roberta" else 0, max_position_embeddings=80)
    return CodeLM(config).eval()


def ids_for(model: CodeLM, shape=(1, 10), seed: int = 1) -> torch.Tensor:
    return torch.randint(3, model.config.vocab_size, shape, generator=torch.Generator().manual_seed(seed))


def moved(model: CodeLM, ids: torch.Tensor, position: int, **kw) -> torch.Tensor:
    """Per output position: how far it moves when the token at `position` changes."""
    other = ids.clone()
    other[:, position] = 3 + (other[:, position] - 2) % (model.config.vocab_size - 3)
    with torch.no_grad():
        a, b = model(ids, **kw).last_hidden_state, model(other, **kw).last_hidden_state
    return (a - b).abs().amax(dim=(0, 2))


def test_encoder_sees_everything(model):
    ids = ids_for(model)
    for j in (0, 5, 9):
        assert (moved(model, ids, j) > CHANGED).all()


def test_decoder_is_causal(model):
    ids = ids_for(model)
    for j in (0, 4, 9):
        d = moved(model, ids, j, mode="decoder")
        assert (d[:j] < SAME).all() and (d[j:] > CHANGED).all()


def test_prefix_source_never_sees_target_and_target_is_causal(model):
    ids, p = ids_for(model), 4
    for j in (4, 6, 9):  # a target token changes: source and earlier targets stay put
        d = moved(model, ids, j, mode="prefix", prefix_lengths=p)
        assert (d[:j] < SAME).all() and (d[j:] > CHANGED).all()
    for j in (0, 3):  # a source token changes: every position sees it, source bidirectionally
        assert (moved(model, ids, j, mode="prefix", prefix_lengths=p) > CHANGED).all()


@pytest.mark.parametrize("mode", ["encoder", "decoder", "prefix"])
def test_padded_rows_equal_rows_alone(model, mode):
    ids = ids_for(model, (3, 9))
    lengths, prefixes = [9, 5, 2], torch.tensor([3, 2, 1])
    mask = torch.zeros_like(ids)
    for r, n in enumerate(lengths):
        mask[r, :n] = 1
        ids[r, n:] = model.config.pad_token_id
    with torch.no_grad():
        h = model(ids, mask, mode=mode, prefix_lengths=prefixes).last_hidden_state
        assert torch.isfinite(h).all()
        for r, n in enumerate(lengths):
            alone = model(ids[r:r + 1, :n], mode=mode, prefix_lengths=int(prefixes[r])).last_hidden_state
            assert (h[r, :n] - alone[0]).abs().max() < 1e-5


def test_fully_masked_row_gives_no_nan(model):
    ids = ids_for(model, (2, 6))
    ids[1] = model.config.pad_token_id
    mask = (ids != model.config.pad_token_id).long()
    for mode in ("encoder", "decoder", "prefix"):
        with torch.no_grad():
            h = model(ids, mask, mode=mode, prefix_lengths=torch.tensor([3, 0])).last_hidden_state
            assert torch.isfinite(h).all()
        assert torch.isfinite(model.embed(ids, mask)).all()


def test_mask_builder_prefix_rule():
    mask, causal = build_attention_mask("prefix", 4, prefix_lengths=torch.tensor([2]))
    expected = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert not causal and torch.equal(mask[0, 0], expected)
    assert build_attention_mask("decoder", 4) == (None, True)
    assert build_attention_mask("encoder", 4) == (None, False)


@pytest.mark.parametrize("mode", ["decoder", "prefix"])
def test_incremental_forward_with_cache_equals_full_forward(model, mode):
    ids, p = ids_for(model, (2, 12)), 5
    with torch.no_grad():
        full = model(ids, mode=mode, prefix_lengths=p).last_hidden_state
        out = model(ids[:, :7], mode=mode, prefix_lengths=p, use_cache=True)
        parts = [out.last_hidden_state]
        for t in range(7, 12):
            out = model(ids[:, t:t + 1], mode=mode, prefix_lengths=p,
                        past_key_values=out.past_key_values, use_cache=True)
            parts.append(out.last_hidden_state)
    assert (torch.cat(parts, dim=1) - full).abs().max() < 1e-5


@pytest.mark.parametrize("mode", ["decoder", "prefix"])
def test_greedy_with_cache_equals_without(model, mode):
    prompt = ids_for(model, (3, 6), seed=7)
    fast = greedy(model, prompt, max_new_tokens=20, mode=mode, use_cache=True)
    slow = greedy(model, prompt, max_new_tokens=20, mode=mode, use_cache=False)
    assert fast.shape == (3, 20) and torch.equal(fast, slow)


def test_greedy_stops_at_eos_and_pads_after(model):
    prompt = ids_for(model, (2, 5), seed=8)
    free = greedy(model, prompt, max_new_tokens=8)
    eos = int(free[0, 2])  # make the third token of row 0 an end token
    k = int((free[0] == eos).nonzero()[0])  # where row 0 first produces it
    out = greedy(model, prompt, max_new_tokens=8, eos_id=eos)
    assert torch.equal(out[0, :k + 1], free[0, :k + 1])
    assert (out[0, k + 1:] == model.config.pad_token_id).all()
    row1_end = (free[1] == eos).nonzero()
    assert out.shape[1] == (8 if len(row1_end) == 0 else max(k, int(row1_end[0])) + 1)
