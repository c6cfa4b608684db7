"""Activation smoothing for int8 export: the same function, the ranges it is built from."""

from __future__ import annotations

import torch

from codelm.core.config import ModelConfig
from codelm.core.model import CodeLM
from codelm.core.smooth import LINEARS, SmoothedLinear, input_ranges, smoothed


def test_smoothing_keeps_the_function_and_the_original_model():
    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=60)).eval()
    ids = torch.randint(3, 60, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    ranges: dict = {}
    with torch.no_grad(), input_ranges(model, ranges):
        before = model.embed(ids, mask)
    assert len(ranges) == len(LINEARS) * model.config.num_layers
    block = model.blocks[0]
    assert ranges["blocks.0.ffn_out"].shape == (block.ffn_out.in_features,)
    assert bool((ranges["blocks.0.qkv"] > 0).all())
    with torch.no_grad():
        model.embed(ids, mask)  # the hooks are gone: ranges no longer change
    assert len(ranges) == len(LINEARS) * model.config.num_layers

    smooth = smoothed(model, ranges, 0.75)
    assert isinstance(smooth.blocks[0].ffn_in, SmoothedLinear) and isinstance(model.blocks[0].ffn_in, torch.nn.Linear)
    assert sum(isinstance(m, SmoothedLinear) for m in smooth.modules()) == len(ranges)
    with torch.no_grad():
        torch.testing.assert_close(smooth.embed(ids, mask), before, atol=1e-5, rtol=1e-4)
        moved = smooth.blocks[0].ffn_out
        assert not torch.allclose(moved.linear.weight, model.blocks[0].ffn_out.weight)  # the range moved into the weights
