"""CodeBERT masked language modelling on bimodal `[CLS] NL [SEP] code [EOS]` inputs.

Each NL or code token is chosen with probability 15% (the special tokens `[CLS]`, `[SEP]`,
`[EOS]` and padding never are); a chosen token becomes `<mask>` 80% of the time, a random
non-special token 10%, and stays 10%; the loss is cross-entropy at chosen positions only.
As in CodeBERT, MLM uses bimodal examples only (unimodal rows are dropped from its batch).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from codelm.objectives import register
from codelm.objectives.data import build_inputs

IGNORE = -100


def mask_tokens(input_ids: torch.Tensor, maskable: torch.Tensor, mask_id: int, low: int, high: int,
                generator: torch.Generator, prob: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """(corrupted ids, labels): 80/10/10 masking of `prob` of the maskable positions.

    Random replacements are drawn uniformly from ids [low, high) (the non-special vocabulary);
    labels hold the original id at chosen positions and -100 elsewhere. At least one
    position is chosen when any is maskable, so the loss is always defined.
    """
    u = torch.rand(input_ids.shape, generator=generator)
    chosen = (u < prob) & maskable
    if not chosen.any() and maskable.any():
        first = maskable.flatten().nonzero()[0]
        chosen.view(-1)[first] = True
    how = torch.rand(input_ids.shape, generator=generator)
    random_ids = torch.randint(low, high, input_ids.shape, generator=generator)
    ids = input_ids.clone()
    ids[chosen & (how < 0.8)] = mask_id
    swap = chosen & (how >= 0.8) & (how < 0.9)
    ids[swap] = random_ids[swap]
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    return ids, labels


@register("mlm")
class MaskedLM:
    """CodeBERT's MLM objective; see the module docstring."""

    def __init__(self, tokenizer: Any, max_length: int = 256, mask_prob: float = 0.15, **_: Any) -> None:
        self.tok, self.max_length, self.mask_prob = tokenizer, max_length, mask_prob
        self.low = max(tokenizer.special_ids.values()) + 1  # special tokens come first in the vocabulary

    def collate(self, examples: list[dict], generator: torch.Generator) -> dict[str, torch.Tensor] | None:
        bimodal = [ex for ex in examples if ex["nl"]]
        if not bimodal:
            return None
        t = self.tok
        batch = build_inputs(bimodal, t.cls_id, t.sep_id, t.eos_id, t.pad_id, self.max_length)
        ids, labels = mask_tokens(batch["input_ids"], batch["segment"] > 0, t.mask_id, self.low,
                                  t.vocab_size, generator, self.mask_prob)
        return {"input_ids": ids, "attention_mask": batch["attention_mask"], "labels": labels}

    def __call__(self, model: torch.nn.Module, batch: dict | None) -> tuple[torch.Tensor, dict[str, float]]:
        if batch is None:
            device = next(model.parameters()).device
            return torch.zeros((), device=device, requires_grad=True), {"tokens": 0.0}
        h = model(batch["input_ids"], batch["attention_mask"]).last_hidden_state
        chosen = batch["labels"] != IGNORE
        logits = model.mlm_logits(h[chosen]).float()
        target = batch["labels"][chosen]
        loss = F.cross_entropy(logits, target)
        acc = (logits.argmax(-1) == target).float().mean()
        return loss, {"acc": float(acc), "tokens": float(batch["attention_mask"].sum())}
