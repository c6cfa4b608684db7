"""Examples of the NL-code corpus as token ids, and the bimodal input `[CLS] NL [SEP] code [EOS]`.

An encoded example is `{"nl": list[int], "code": list[int]}`; `nl` is empty for unimodal code.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch


def encode_examples(tokenizer: Any, records: Iterable[dict], max_nl: int = 64) -> list[dict]:
    """Token ids of corpus records ({"nl", "code"}), NL cut to max_nl tokens."""
    records = list(records)
    nl = tokenizer.encode_batch([r.get("nl") or "" for r in records])
    code = tokenizer.encode_batch([r["code"] for r in records])
    return [{"nl": n[:max_nl], "code": c} for n, c in zip(nl, code)]


def build_inputs(examples: list[dict], cls_id: int, sep_id: int, eos_id: int, pad_id: int,
                 max_length: int) -> dict[str, torch.Tensor]:
    """Padded `[CLS] nl [SEP] code [EOS]` batch: input_ids, attention_mask, and `segment`
    (0 special, 1 NL, 2 code) so objectives know which generator or rule applies."""
    rows, segs = [], []
    for ex in examples:
        nl = list(ex["nl"])[: max(0, max_length // 2 - 2)]
        code = list(ex["code"])[: max(0, max_length - len(nl) - 3)]
        rows.append([cls_id, *nl, sep_id, *code, eos_id])
        segs.append([0, *[1] * len(nl), 0, *[2] * len(code), 0])
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    segment = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (r, s) in enumerate(zip(rows, segs)):
        ids[i, :len(r)] = torch.tensor(r)
        segment[i, :len(s)] = torch.tensor(s)
    return {"input_ids": ids, "attention_mask": (ids != pad_id).long(), "segment": segment}
