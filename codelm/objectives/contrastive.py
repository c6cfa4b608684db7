"""InfoNCE for code search: docstring summaries against the code they describe.

A batch holds B corpus records (`indexers.corpus` records with "nl", "code", "name",
"path"). Queries are the summaries, candidates the code texts built as the index embeds a
unit (`record_text`, like `indexers.text.unit_text` without the docstring), both tokenized
with the encoder's own WordPiece tokenizer and embedded as at search time (`CodeLM.embed`:
mean pooling over real tokens, L2 norm). With temperature t the loss is the cross-entropy
of `q @ c.T / t` against the diagonal (in-batch negatives, as UniXcoder with t = 0.05);
symmetric adds the code-to-query direction and averages the two. With hard negatives, each
record also brings one of the codes that BM25 and (negatives_model) the current encoder rank
highest for its summary apart from its own (mined once by `fit`, `objectives.negatives`);
these join the query-to-code candidates. A query is the summary, or with sentence_share /
name_share its first sentence / the function's name in words. Unimodal records are dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from codelm.objectives import register
from codelm.objectives.negatives import mine_negatives
from indexers.corpus import first_sentence
from indexers.embed import MAX_TOKENS
from indexers.text import name_words, record_text

NEGATIVES = 8  # mined per record
NEGATIVES_USED = 4  # a batch draws one of each record's top 4 (the very top is often a near-copy)
MAX_LENGTH = MAX_TOKENS  # code tokens read: as search cuts a unit's text


def load_tokenizer(model: str | Path = "minilm", max_length: int = MAX_LENGTH) -> Any:
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

    def __init__(self, tokenizer: Any = None, max_length: int = MAX_LENGTH, query_length: int = 64,
                 temperature: float = 0.05, symmetric: bool = True, hard_negatives: bool = False,
                 negatives_model: str = "", sentence_share: float = 0.0, name_share: float = 0.0,
                 cache: str | Path | None = None, pad_id: int = 0, **_: Any) -> None:
        self.tok = tokenizer if tokenizer is not None and not isinstance(tokenizer, (str, Path)) \
            else load_tokenizer(tokenizer or "minilm", max_length)
        self.max_length, self.query_length = max_length, query_length
        self.temperature, self.symmetric, self.hard_negatives = temperature, symmetric, hard_negatives
        self.pad_id = pad_id
        self.negatives_model, self.cache = negatives_model or None, cache
        self.sentence_share, self.name_share = sentence_share, name_share
        self.hard: dict[str, list[str]] = {}  # record id -> code texts of its mined hard negatives

    def fit(self, examples: list[dict]) -> None:
        """Mine hard negatives for the bimodal training records (when hard_negatives): BM25's
        and, with negatives_model, that encoder's top codes for each summary."""
        if not self.hard_negatives:
            return
        pairs = [r for r in examples if r["nl"]]
        texts = [record_text(r) for r in pairs]
        mined = mine_negatives([r["nl"] for r in pairs], texts, NEGATIVES, self.negatives_model, self.cache)
        self.hard = {r["id"]: [texts[j] for j in row if j >= 0] for r, row in zip(pairs, mined)}

    def query(self, record: dict, draw: float) -> str:
        """The query a record trains with: its summary, its first sentence (sentence_share of
        draws) or its name in words (name_share of draws), as people search both ways."""
        if draw < self.name_share:
            return name_words(record["name"])
        if draw < self.name_share + self.sentence_share:
            return first_sentence(record["nl"])
        return record["nl"]

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
        draws = torch.rand(2 * len(pairs), generator=generator).tolist()
        hard = [options[int(draw * len(options))] for r, draw in zip(pairs, draws[len(pairs):])
                if (options := self.hard.get(r.get("id"), [])[:NEGATIVES_USED])]
        queries = [self.query(r, draw) for r, draw in zip(pairs, draws)]
        return {"query": self._pad(queries, self.query_length),
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
