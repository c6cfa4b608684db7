"""InfoNCE for code search: docstring summaries against the code they describe.

A batch holds B corpus records (`indexers.corpus` records with "nl", "code", "name",
"path"). Queries are the summaries, candidates the code texts built as the index embeds a
unit (`record_text`, like `indexers.text.unit_text` without the docstring), both tokenized
with the encoder's own WordPiece tokenizer and embedded as at search time (`CodeLM.embed`:
mean pooling over real tokens, L2 norm). With temperature t the loss is the cross-entropy
of `q @ c.T / t` against the diagonal (in-batch negatives, as UniXcoder with t = 0.05);
symmetric adds the code-to-query direction and averages the two. With hard negatives, each
record also brings the code that BM25 over the training codes ranks highest for its
summary apart from its own (mined once by `fit`); these join the query-to-code candidates.
Unimodal records (no summary) are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from codelm.objectives import register
from indexers.text import code_tokens, record_text


def load_tokenizer(model: str | Path = "minilm", max_length: int = 256) -> Any:
    """The `tokenizers.Tokenizer` of a model directory (or the embedded MiniLM), truncating."""
    from tokenizers import Tokenizer

    from codelm.core.checkpoint import resolve_model_dir

    tok = Tokenizer.from_file(str(resolve_model_dir(model) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length)
    return tok


@register("contrastive")
class Contrastive:
    """In-batch InfoNCE between summaries and code; see the module docstring."""

    def __init__(self, tokenizer: Any = None, max_length: int = 256, query_length: int = 64,
                 temperature: float = 0.05, symmetric: bool = True, hard_negatives: bool = False,
                 pad_id: int = 0, **_: Any) -> None:
        self.tok = tokenizer if tokenizer is not None and not isinstance(tokenizer, (str, Path)) \
            else load_tokenizer(tokenizer or "minilm", max_length)
        self.max_length, self.query_length = max_length, query_length
        self.temperature, self.symmetric, self.hard_negatives = temperature, symmetric, hard_negatives
        self.pad_id = pad_id
        self.hard: dict[str, str] = {}  # record id -> code text of its BM25 hard negative

    def fit(self, examples: list[dict]) -> None:
        """Mine one BM25 hard negative per bimodal training record (when hard_negatives)."""
        if not self.hard_negatives:
            return
        from indexers.bm25 import BM25

        texts = [record_text(r) for r in examples]
        import numpy as np

        index = BM25.build([code_tokens(t) for t in texts], np.arange(len(texts)))
        for i, r in enumerate(examples):
            if not r["nl"]:
                continue
            ids, _ = index.search(code_tokens(r["nl"]), 2)
            other = [int(j) for j in ids if int(j) != i and texts[int(j)] != texts[i]]
            if other:
                self.hard[r["id"]] = texts[other[0]]

    def _pad(self, texts: list[str], length: int) -> dict[str, torch.Tensor]:
        ids = [e.ids[:length] for e in self.tok.encode_batch(texts)]
        width = max(len(x) for x in ids)
        out = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for r, x in enumerate(ids):
            out[r, :len(x)] = torch.tensor(x, dtype=torch.long)
            mask[r, :len(x)] = 1
        return {"input_ids": out, "attention_mask": mask}

    def collate(self, examples: list[dict], generator: torch.Generator | None = None) -> dict | None:
        """Tokenized queries and codes (+ hard negatives); None when no record has a summary."""
        pairs = [r for r in examples if r["nl"]]
        if not pairs:
            return None
        codes = [record_text(r) for r in pairs]
        hard = [self.hard[r["id"]] for r in pairs if r.get("id") in self.hard]
        return {"query": self._pad([r["nl"] for r in pairs], self.query_length),
                "code": self._pad(codes + hard, self.max_length)}

    def __call__(self, model: torch.nn.Module, batch: dict | None) -> tuple[torch.Tensor, dict[str, float]]:
        if batch is None:
            device = next(model.parameters()).device
            return torch.zeros((), device=device, requires_grad=True), {"tokens": 0.0}
        q = model.embed(batch["query"]["input_ids"], batch["query"]["attention_mask"]).float()
        c = model.embed(batch["code"]["input_ids"], batch["code"]["attention_mask"]).float()
        n = q.shape[0]
        target = torch.arange(n, device=q.device)
        logits = q @ c.T / self.temperature  # (n, n + hard)
        loss = F.cross_entropy(logits, target)
        if self.symmetric:
            loss = (loss + F.cross_entropy(logits[:, :n].T, target)) / 2
        acc = (logits.argmax(-1) == target).float().mean()
        tokens = batch["query"]["attention_mask"].sum() + batch["code"]["attention_mask"].sum()
        return loss, {"acc": float(acc), "tokens": float(tokens)}
