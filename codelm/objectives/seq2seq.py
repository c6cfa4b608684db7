"""Teacher-forced translation in prefix mode, PyMT5's multi-mode training: the `seq2seq` objective.

Examples are prepared by the task (`codelm.tasks.docstring.prompt`): {"source", "target"} id lists.

The model reads the source in prefix mode (bidirectionally) and the target causally after it.
In a batch, sources are LEFT-padded so every row's last source token sits just before its
target (the same layout batched generation uses), and targets are right-padded.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from codelm.objectives import register

IGNORE = -100
def seq2seq_batch(sources: list[list[int]], targets: list[list[int]], pad_id: int) -> dict[str, Any]:
    """Left-padded sources then right-padded targets: input_ids and attention_mask (batch,
    S + T), prefix_length S, and labels (batch, T): the target ids, -100 at padding. The
    hidden state at position S - 1 + j predicts labels[:, j]."""
    s, t = max(map(len, sources)), max(map(len, targets))
    ids = torch.full((len(sources), s + t), pad_id, dtype=torch.long)
    labels = torch.full((len(sources), t), IGNORE, dtype=torch.long)
    for i, (src, tgt) in enumerate(zip(sources, targets)):
        ids[i, s - len(src):s] = torch.tensor(src)
        ids[i, s:s + len(tgt)] = torch.tensor(tgt)
        labels[i, :len(tgt)] = torch.tensor(tgt)
    mask = torch.zeros_like(ids)
    for i, (src, tgt) in enumerate(zip(sources, targets)):
        mask[i, s - len(src):s + len(tgt)] = 1
    return {"input_ids": ids, "attention_mask": mask, "prefix_length": s, "labels": labels}


def seq2seq_loss(model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
    """Teacher-forced cross-entropy over target tokens only, in prefix mode."""
    s, labels = batch["prefix_length"], batch["labels"]
    h = model(batch["input_ids"], batch["attention_mask"], mode="prefix", prefix_lengths=s).last_hidden_state
    h = h[:, s - 1:s - 1 + labels.shape[1]]
    chosen = labels != IGNORE
    logits = model.lm_logits(h[chosen]).float()
    target = labels[chosen]
    loss = F.cross_entropy(logits, target)
    acc = (logits.argmax(-1) == target).float().mean()
    return loss, {"acc": float(acc), "tokens": float(batch["attention_mask"].sum())}


@register("seq2seq")
class Seq2Seq:
    """Multi-mode translation; examples are {"source", "target"} id lists (`codelm.tasks.docstring.prompt.corpus_examples`)."""

    def __init__(self, tokenizer: Any, **_: Any) -> None:
        self.pad_id = tokenizer.pad_id

    def collate(self, examples: list[dict], generator: torch.Generator) -> dict[str, Any]:
        return seq2seq_batch([e["source"] for e in examples], [e["target"] for e in examples], self.pad_id)

    def __call__(self, model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        return seq2seq_loss(model, batch)
