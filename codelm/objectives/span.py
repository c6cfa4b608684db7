"""T5 span corruption over code (`span`): the model rewrites the missing spans.

Of a sequence of n tokens, round(0.15 n) are noise (at least 1, at most n - 1), cut into
round(noise / 3) spans (mean span length 3; at most 64, the number of sentinels). Noise and
kept lengths are random positive splits, interleaved starting with kept tokens (T5's
`random_spans_noise_mask`). The source replaces span i by the sentinel `<extra_i>`; the target
lists `<extra_i>` followed by span i's tokens, for each span in order, then [EOS]. Training
uses the seq2seq layout and loss (prefix mode, target tokens only).
"""

from __future__ import annotations

from typing import Any

import torch

from codelm.objectives import register
from codelm.objectives.seq2seq import seq2seq_batch, seq2seq_loss

MAX_SPANS = 64


def random_split(total: int, parts: int, generator: torch.Generator) -> list[int]:
    """`parts` positive integers summing to `total`, uniformly over such splits."""
    cuts = sorted((torch.randperm(total - 1, generator=generator)[:parts - 1] + 1).tolist())
    bounds = [0, *cuts, total]
    return [b - a for a, b in zip(bounds, bounds[1:])]


def noise_spans(length: int, generator: torch.Generator, noise_density: float = 0.15,
                mean_span: float = 3.0) -> list[tuple[int, int]]:
    """[start, end) of each noise span of a sequence of `length` >= 2 tokens, in order."""
    noise = max(1, min(length - 1, round(length * noise_density)))
    spans = max(1, min(MAX_SPANS, noise, length - noise, round(noise / mean_span)))
    noise_lengths = random_split(noise, spans, generator)
    kept_lengths = random_split(length - noise, spans, generator)
    out, position = [], 0
    for kept, size in zip(kept_lengths, noise_lengths):
        position += kept
        out.append((position, position + size))
        position += size
    return out


def corrupt(tokens: list[int], spans: list[tuple[int, int]], sentinels: list[int]) -> tuple[list[int], list[int]]:
    """(source with each span replaced by its sentinel, target of sentinels and span tokens)."""
    source, target, previous = [], [], 0
    for sentinel, (start, end) in zip(sentinels, spans):
        source += [*tokens[previous:start], sentinel]
        target += [sentinel, *tokens[start:end]]
        previous = end
    return source + tokens[previous:], target


@register("span")
class SpanCorruption:
    """T5 span corruption of each example's code ids; see the module docstring."""

    def __init__(self, tokenizer: Any, max_length: int = 256, noise_density: float = 0.15,
                 mean_span: float = 3.0, **_: Any) -> None:
        self.tok, self.max_length = tokenizer, max_length
        self.noise_density, self.mean_span = noise_density, mean_span
        self.sentinels = [tokenizer.token_id(f"<extra_{i}>") for i in range(MAX_SPANS)]
        self.prefix = [tokenizer.cls_id, tokenizer.token_id("<encoder-decoder>")]

    def collate(self, examples: list[dict], generator: torch.Generator) -> dict[str, Any] | None:
        sources, targets = [], []
        for ex in examples:
            tokens = list(ex["code"])[: int(self.max_length / (1 + self.noise_density)) - 4]
            if len(tokens) < 2:
                continue
            spans = noise_spans(len(tokens), generator, self.noise_density, self.mean_span)
            source, target = corrupt(tokens, spans, self.sentinels)
            sources.append([*self.prefix, *source, self.tok.sep_id])
            targets.append([*target, self.tok.eos_id])
        return seq2seq_batch(sources, targets, self.tok.pad_id) if sources else None

    def __call__(self, model: torch.nn.Module, batch: dict | None) -> tuple[torch.Tensor, dict[str, float]]:
        if batch is None:
            device = next(model.parameters()).device
            return torch.zeros((), device=device, requires_grad=True), {"tokens": 0.0}
        return seq2seq_loss(model, batch)
