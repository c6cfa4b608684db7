"""Sequence-to-sequence from cached encoder states: the frozen-encoder docstring model's objective.

In the trainer's contract (`codelm.train`): `collate(examples, generator) -> batch`,
`__call__(model, batch) -> (loss, metrics)`.

An example is {"row": index of the function in a `StateCache`, "target": token ids of its
summary}. A batch holds the function's cached encoder states (padded, fp32, with a mask) and
`<s> target </s>` (padded); the loss is teacher-forced cross-entropy with label smoothing over
the real target tokens (over the decoder's output set; a token outside it is not scored).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from codelm.objectives import register


def pad_states(arrays: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """(states (batch, longest, dim) float32, mask (batch, longest) bool) of variable-length arrays."""
    width, dim = max(len(a) for a in arrays), arrays[0].shape[1]
    states = np.zeros((len(arrays), width, dim), dtype=np.float32)
    mask = np.zeros((len(arrays), width), dtype=bool)
    for i, a in enumerate(arrays):
        states[i, :len(a)] = a
        mask[i, :len(a)] = True
    return torch.from_numpy(states), torch.from_numpy(mask)


def pad_targets(targets: Sequence[Sequence[int]], bos: int, eos: int, pad: int, max_target: int) -> torch.Tensor:
    """`<s> ids </s>` per row, cut to max_target + 1 tokens (inputs and labels overlap by one), padded."""
    rows = [[bos, *list(t)[:max_target - 1], eos] for t in targets]
    out = torch.full((len(rows), max(len(r) for r in rows)), pad, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r)
    return out


@register("cached-seq2seq")
class FrozenDocstringObjective:
    """Cross-entropy of summaries given cached encoder states; see the module docstring."""

    def __init__(self, cache: Any, bos: int, eos: int, pad: int, max_target: int = 48,
                 label_smoothing: float = 0.1) -> None:
        self.cache, self.bos, self.eos, self.pad = cache, bos, eos, pad
        self.max_target, self.label_smoothing = max_target, label_smoothing

    def collate(self, examples: list[dict], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        states, mask = pad_states([self.cache[e["row"]] for e in examples])
        target = pad_targets([e["target"] for e in examples], self.bos, self.eos, self.pad, self.max_target)
        return {"states": states, "states_mask": mask, "target": target}

    def __call__(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        target = batch["target"]
        memory = model.memory(batch["states"])
        h = model(target[:, :-1], memory, batch["states_mask"]).last_hidden_state
        labels = target[:, 1:]
        real = labels != self.pad
        logits = model.output_logits(h[real])
        columns = model.output_positions(labels[real])
        loss = F.cross_entropy(logits.float(), columns, label_smoothing=self.label_smoothing, ignore_index=-100)
        accuracy = (logits.argmax(-1) == columns).float().mean()
        return loss, {"tokens": float(real.sum()), "accuracy": float(accuracy)}
