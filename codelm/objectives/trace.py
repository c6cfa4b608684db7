"""CodeExecutor's trace objective: predict a program's execution trace from its source.

One example is `<s> <encoder-decoder> </s> SOURCE [</s> STDIN] </s>` (the prefix, attended
bidirectionally) followed by `TRACE </s>` (the target, causal); SOURCE is the CodeExecutor
input form of the program (`<0> line <1> line ...`, `tracer.format.code_to_codeexecutor`),
TRACE its CodeExecutor trace text. Only target positions count in the loss.

Loss weights (as in CodeExecutor's released pretraining code, microsoft/CodeBERT
`CodeExecutor/pretrain/model.py`): the purely structural tokens `<state>`, `</state>`,
`<dictsep>` and `:` weigh 1, every other target token (values, names, `<line>`, line numbers,
`<output>`, `</s>`) weighs 10; the loss is sum(weight * cross-entropy) / number of target
tokens, as there. Here the lone space token our BPE puts before special tokens also counts as
structural. `structure_weight`, `value_weight` and `structure_tokens` change this.

Truncation (CodeExecutor's `_truncate_seq_pair_two_length`): with a budget B of tokens for
source + trace, the source is guaranteed `source_share * B` tokens and the trace the rest;
a longer part may use what the other leaves. What is cut is the end: the source keeps its
first lines, the trace its first steps (then `</s>` is appended, as CodeExecutor does).
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
import torch.nn.functional as F

from codelm.objectives import register

IGNORE = -100
STRUCTURE_TOKENS = ("<state>", "</state>", "<dictsep>", ":", " :", " ")
PREFIX_SPECIALS = 4  # <s> <encoder-decoder> </s> ... </s>


def truncate(source: list[int], target: list[int], budget: int, source_share: float = 0.25
             ) -> tuple[list[int], list[int]]:
    """Cut source and target to at most `budget` tokens together (see the module docstring)."""
    source_cap = int(budget * source_share)
    keep_target = min(len(target), max(budget - source_cap, budget - len(source)))
    keep_source = min(len(source), budget - keep_target)
    return source[:keep_source], target[:keep_target]


def prefix(tokenizer: Any, source: list[int]) -> list[int]:
    """The model input before the trace: `<s> <encoder-decoder> </s> source </s>`."""
    t = tokenizer
    return [t.cls_id, t.token_id("<encoder-decoder>"), t.sep_id, *source, t.sep_id]


@register("trace")
class TraceObjective:
    """Weighted cross-entropy on the trace given the source, in prefix mode."""

    def __init__(self, tokenizer: Any, max_length: int = 512, source_share: float = 0.25,
                 structure_weight: float = 1.0, value_weight: float = 10.0,
                 structure_tokens: Iterable[str] = STRUCTURE_TOKENS, **_: Any) -> None:
        self.tok, self.max_length, self.source_share = tokenizer, max_length, source_share
        self.weights = torch.full((tokenizer.vocab_size,), float(value_weight))
        for text in structure_tokens:
            ids = [tokenizer.token_id(text)] if text in tokenizer.special_ids else tokenizer.encode(text)
            if len(ids) == 1:
                self.weights[ids[0]] = float(structure_weight)

    @property
    def budget(self) -> int:
        """Tokens left for source + trace once the specials and the final `</s>` are placed."""
        return self.max_length - PREFIX_SPECIALS - 1

    def collate(self, examples: list[dict], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Padded batch: input_ids, attention_mask, prefix_lengths, labels (-100 off target)."""
        t = self.tok
        rows, prefixes = [], []
        for ex in examples:
            src, tgt = truncate(list(ex["source"]), list(ex["target"]), self.budget, self.source_share)
            head = prefix(t, src)
            rows.append(head + tgt + [t.eos_id])
            prefixes.append(len(head))
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), t.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        for i, (row, p) in enumerate(zip(rows, prefixes)):
            ids[i, :len(row)] = torch.tensor(row)
            labels[i, p - 1:len(row) - 1] = torch.tensor(row[p:])  # position j predicts token j + 1
        return {"input_ids": ids, "attention_mask": (ids != t.pad_id).long(),
                "prefix_lengths": torch.tensor(prefixes), "labels": labels}

    def __call__(self, model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        h = model(batch["input_ids"], batch["attention_mask"], mode="prefix",
                  prefix_lengths=batch["prefix_lengths"]).last_hidden_state
        chosen = batch["labels"] != IGNORE
        target = batch["labels"][chosen]
        logits = model.lm_logits(h[chosen]).float()
        ce = F.cross_entropy(logits, target, reduction="none")
        loss = (self.weights.to(ce.device)[target] * ce).sum() / max(len(target), 1)
        acc = (logits.argmax(-1) == target).float().mean()
        return loss, {"ce": float(ce.mean().detach()), "acc": float(acc),
                      "tokens": float(batch["attention_mask"].sum())}
