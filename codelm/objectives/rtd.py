"""Replaced-token detection (ELECTRA, as CodeBERT uses it) with n-gram generators.

Generators. CodeBERT trained its NL and code generators as n-gram language models, apart
from the discriminator; we do the same with a Dirichlet-smoothed bigram model per modality,
P(w | v) = (c(v, w) + beta * P(w)) / (c(v) + beta), fitted on the training split: NL on the
docstrings, code on all code. Why: it costs one pass over the corpus and no GPU time, is
deterministic given the data, samples plausible tokens for the context (so the discriminator
must learn more than "rare token = fake"), and never trains jointly with the discriminator,
which keeps the trainer objective-agnostic (ELECTRA's small MLM generator would need its own
model and loss inside this objective).

Corruption: each NL or code token is picked with probability 15% and replaced by a sample
from its modality's generator given the original previous token. The discriminator head
predicts, for every real token (specials included), whether it was replaced; a sample equal
to the original counts as original. Bimodal and unimodal (code-only) examples are both used.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from codelm.objectives import register
from codelm.objectives.data import build_inputs


class BigramGenerator:
    """A Dirichlet-smoothed bigram model that samples a next token given the previous one."""

    def __init__(self, vocab_size: int, beta: float = 2.0) -> None:
        self.vocab_size, self.beta = vocab_size, beta
        self.unigram_cum: torch.Tensor | None = None

    def fit(self, sequences: Iterable[list[int]], start_id: int) -> "BigramGenerator":
        """Count unigrams and bigrams of sequences, each preceded by start_id."""
        prev, nxt = [], []
        for seq in sequences:
            if seq:
                prev.append(np.asarray([start_id, *seq[:-1]], dtype=np.int64))
                nxt.append(np.asarray(seq, dtype=np.int64))
        v = self.vocab_size
        prev_a = np.concatenate(prev) if prev else np.zeros(0, dtype=np.int64)
        next_a = np.concatenate(nxt) if nxt else np.zeros(0, dtype=np.int64)
        uni = np.bincount(next_a, minlength=v).astype(np.float64) + 1e-3  # a floor: every id possible
        pairs, counts = np.unique(prev_a * v + next_a, return_counts=True)
        self.row_of = pairs // v  # CSR over previous tokens, sorted by (prev, next)
        self.next_ids = torch.from_numpy(pairs % v)
        self.cum = torch.from_numpy(np.cumsum(counts).astype(np.float64))
        self.row_start = torch.from_numpy(np.searchsorted(self.row_of, np.arange(v + 1)))
        self.row_count = torch.from_numpy(np.bincount(self.row_of, weights=counts, minlength=v))
        self.unigram_cum = torch.from_numpy(np.cumsum(uni))
        return self

    def sample(self, previous: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One next token per entry of `previous` (1-d LongTensor)."""
        if self.unigram_cum is None:
            raise RuntimeError("fit the generator before sampling")
        n = previous.numel()
        u = torch.rand(3, n, generator=generator, dtype=torch.float64)
        total = self.unigram_cum[-1]
        out = torch.searchsorted(self.unigram_cum, u[0] * total, right=True).clamp(max=self.vocab_size - 1)
        c = self.row_count[previous]
        use_bigram = u[1] * (c + self.beta) < c
        if use_bigram.any():
            start = self.row_start[previous[use_bigram]]
            base = torch.where(start > 0, self.cum[(start - 1).clamp(min=0)], torch.zeros_like(c[use_bigram]))
            target = base + u[2][use_bigram] * c[use_bigram]
            idx = torch.searchsorted(self.cum, target, right=True).clamp(max=len(self.cum) - 1)
            out[use_bigram] = self.next_ids[idx]
        return out


@register("rtd")
class ReplacedTokenDetection:
    """CodeBERT's RTD objective; see the module docstring."""

    def __init__(self, tokenizer: Any, max_length: int = 256, replace_prob: float = 0.15, **_: Any) -> None:
        self.tok, self.max_length, self.replace_prob = tokenizer, max_length, replace_prob
        self.nl_gen = BigramGenerator(tokenizer.vocab_size)
        self.code_gen = BigramGenerator(tokenizer.vocab_size)

    def fit(self, examples: list[dict]) -> None:
        """Fit the NL generator on docstrings and the code generator on all code."""
        self.nl_gen.fit((ex["nl"] for ex in examples if ex["nl"]), self.tok.cls_id)
        self.code_gen.fit((ex["code"] for ex in examples), self.tok.sep_id)

    def corrupt(self, input_ids: torch.Tensor, segment: torch.Tensor,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(corrupted ids, labels 1.0 where the id differs from the original)."""
        picked = (torch.rand(input_ids.shape, generator=generator) < self.replace_prob) & (segment > 0)
        ids = input_ids.clone()
        previous = torch.cat([input_ids[:, :1], input_ids[:, :-1]], dim=1)
        for seg, gen in ((1, self.nl_gen), (2, self.code_gen)):
            where = picked & (segment == seg)
            if where.any():
                ids[where] = gen.sample(previous[where], generator)
        return ids, (ids != input_ids).float()

    def collate(self, examples: list[dict], generator: torch.Generator) -> dict[str, torch.Tensor]:
        t = self.tok
        batch = build_inputs(examples, t.cls_id, t.sep_id, t.eos_id, t.pad_id, self.max_length)
        ids, labels = self.corrupt(batch["input_ids"], batch["segment"], generator)
        return {"input_ids": ids, "attention_mask": batch["attention_mask"], "labels": labels}

    def __call__(self, model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        h = model(batch["input_ids"], batch["attention_mask"]).last_hidden_state
        real = batch["attention_mask"].bool()
        logits = model.discriminator_logits(h)[real].float()
        labels = batch["labels"][real]
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        predicted = logits > 0
        acc = (predicted == labels.bool()).float().mean()
        replaced = labels.bool()
        recall = (predicted & replaced).sum() / replaced.sum().clamp(min=1)
        return loss, {"acc": float(acc), "replaced_recall": float(recall),
                      "replaced_share": float(labels.mean()), "tokens": float(real.sum())}
