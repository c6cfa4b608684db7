"""Int8 inference for the core on CPU: the blocks' Linear layers on fbgemm int8 kernels.

Weights are quantized once, symmetrically per output channel; activations are quantized by
the kernel at each call (one scale per call). The FFN output layer sees GELU activations
whose range differs a lot from token to token, so there each row (token) is first scaled to
the same range and the scale multiplied back after the product: per-token quantization at the
cost of two elementwise passes. Measured on 300 stdlib units with the MiniLM encoder
(benchmarks/index_speed.py reports it on every run): cosine to fp32 embeddings 0.9916 min /
0.9959 mean, and about 1.2x the fp32 throughput on 2 AVX2 cores; per-token scaling on every
layer gave 0.994 min but was slower than fp32, none at all 0.987 min at 1.4x. Search quality
(benchmarks/search_quality.py --small, MRR@10): dense 0.522 against 0.528 in fp32, hybrid
0.531 against 0.529.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

PER_ROW = ("ffn_out",)  # layers whose input is quantized per token
LAYERS = ("qkv", "attn_out", "ffn_in", "ffn_out")


class Int8Linear(nn.Module):
    """A frozen nn.Linear computed by fbgemm's dynamic int8 kernel (inference only)."""

    def __init__(self, linear: nn.Linear, per_row: bool = False) -> None:
        super().__init__()
        w = linear.weight.detach().float()
        bias = linear.bias.detach().float() if linear.bias is not None else torch.zeros(w.shape[0])
        scales = (w.abs().amax(1) / 127).clamp(min=1e-12).double()
        with warnings.catch_warnings():  # quantized tensors are deprecated in torch 2.13, still supported
            warnings.simplefilter("ignore")
            q = torch.quantize_per_channel(w, scales, torch.zeros(w.shape[0], dtype=torch.long), 0, torch.qint8)
            self.packed = torch.ops.quantized.linear_prepack(q, None if per_row else bias)
        self.per_row = per_row
        self.register_buffer("bias", bias)
        self.out_features = w.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        if not self.per_row:
            return torch.ops.quantized.linear_dynamic(x, self.packed).reshape(*shape[:-1], self.out_features)
        # each row's largest magnitude, the same value as vector_norm(inf), by two plain
        # reductions (far cheaper here than vector_norm or aminmax)
        r = torch.maximum(x.amax(1, keepdim=True), x.amin(1, keepdim=True).neg_()).clamp_(min=1e-6)
        y = torch.ops.quantized.linear_dynamic(x / r, self.packed)
        return torch.addcmul(self.bias, y, r).reshape(*shape[:-1], self.out_features)


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of a CodeLM whose blocks' Linear layers run in int8 (CPU, inference only)."""
    if "fbgemm" not in torch.backends.quantized.supported_engines:
        raise RuntimeError("int8 inference needs torch's fbgemm engine (x86 CPU builds)")
    model = copy.deepcopy(model).eval()
    for block in model.blocks:
        for name in LAYERS:
            setattr(block, name, Int8Linear(getattr(block, name), per_row=name in PER_ROW))
    return model
