"""Activation smoothing before int8 quantisation (SmoothQuant, Xiao et al. 2023).

onnxruntime's dynamic quantisation gives each MatMul input one int8 scale per call; a few
channels of a transformer's activations are far larger than the rest (the LayerNorm outputs
that feed `qkv` and `ffn_in`, the GELU outputs that feed `ffn_out`), so that one scale leaves
the other channels little precision. Smoothing divides input channel j by
s_j = max|x_j|^alpha / max|W_:,j|^(1 - alpha) and multiplies the weights' column j by s_j: the
same function in exact arithmetic, with the activations' range moved into the weights, which
are quantised per output channel. The ranges come from a calibration pass (`input_ranges`).

Only the export uses this (`codelm.core.export`): the torch model and checkpoints are unchanged.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn

LINEARS = ("qkv", "attn_out", "ffn_in", "ffn_out")  # the Linear layers of each core block


class SmoothedLinear(nn.Module):
    """`linear` with its input divided by `scale` per channel and its weight columns multiplied by it."""

    def __init__(self, linear: nn.Linear, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("inverse", 1.0 / scale)
        self.linear = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None)
        with torch.no_grad():
            self.linear.weight.copy_(linear.weight * scale)
            if linear.bias is not None:
                self.linear.bias.copy_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse)


def _block_linears(model: nn.Module) -> Iterator[tuple[str, nn.Module, str, nn.Linear]]:
    """(qualified name, parent, attribute, Linear) of every block Linear named in LINEARS."""
    for name, parent in model.named_modules():
        for attribute in LINEARS:
            child = getattr(parent, attribute, None)
            if isinstance(child, nn.Linear):
                yield f"{name}.{attribute}" if name else attribute, parent, attribute, child


@contextmanager
def input_ranges(model: nn.Module, ranges: dict[str, torch.Tensor]) -> Iterator[dict[str, torch.Tensor]]:
    """While open, every forward pass records into `ranges` the largest |input| of each block
    Linear per input channel (qualified name -> (in_features,))."""

    def recorder(name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            peak = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0).float()
            ranges[name] = torch.maximum(ranges[name], peak) if name in ranges else peak
        return hook

    handles = [linear.register_forward_hook(recorder(name)) for name, _, _, linear in _block_linears(model)]
    try:
        yield ranges
    finally:
        for handle in handles:
            handle.remove()


def smoothed(model: nn.Module, ranges: dict[str, torch.Tensor], alpha: float) -> nn.Module:
    """A copy of `model` whose block Linears with a recorded range are `SmoothedLinear`s."""
    model = copy.deepcopy(model)
    for name, parent, attribute, linear in list(_block_linears(model)):
        if name in ranges:
            weight_peak = linear.weight.detach().abs().amax(0).clamp(min=1e-5)
            scale = (ranges[name].clamp(min=1e-5) ** alpha / weight_peak ** (1 - alpha)).clamp(min=1e-5)
            setattr(parent, attribute, SmoothedLinear(linear, scale))
    return model
