"""A stand-in tokenizer and a tiny synthetic NL-code corpus for the trainer and objective tests."""

from __future__ import annotations

import random
from types import SimpleNamespace

import torch


def stand_in_tokenizer(vocab_size: int = 64) -> SimpleNamespace:
    """The attributes objectives read from a CodeTokenizer, for a vocabulary of vocab_size ids."""
    special = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    return SimpleNamespace(special_ids=special, cls_id=0, pad_id=1, eos_id=2, sep_id=2, unk_id=3,
                           mask_id=4, vocab_size=vocab_size)


def synthetic_examples(n: int, seed: int = 0, vocab_size: int = 64) -> list[dict]:
    """Encoded examples with learnable structure: code counts up from a start id, NL names it;
    every third example is unimodal (no NL)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = rng.randrange(5, vocab_size - 20)
        code = [start + k for k in range(rng.randrange(6, 16))]
        nl = [] if i % 3 == 2 else [start, start + 1, 5]
        out.append({"nl": nl, "code": code})
    return out
