"""A cross-encoder re-ranker for code search: the core reads a (query, code) pair as one
sequence and scores it.

The input is `[CLS] query [SEP] unit text [SEP]` with token types 0 and 1 (the encoder's own
WordPiece tokenizer, cut to max_length tokens, the longer side first); the score is the
discriminator head on the mean of the pair's token states (`CodeLM.score_pairs`, one logit). A batch
holds B corpus records with a summary; each brings a group of `group` pairs: its own code
first, then codes drawn from its mined hard negatives (BM25's and the current encoder's top
codes for the summary, `objectives.negatives`), so the re-ranker learns to order exactly the
candidates the hybrid search hands it. The loss is the cross-entropy of each group's scores
against its first pair (listwise, as monoBERT-style re-rankers trained with localized
contrastive estimation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from codelm.core.rerank_export import pair_batch
from codelm.objectives import register
from codelm.objectives.contrastive import NEGATIVES, load_tokenizer
from codelm.objectives.negatives import mine_negatives
from indexers.corpus import first_sentence
from indexers.text import record_text


@register("rerank")
class Rerank:
    """Listwise cross-entropy over (query, code) groups; see the module docstring."""

    def __init__(self, tokenizer: Any = None, max_length: int = 128, group: int = 4,
                 negatives_model: str = "", sentence_share: float = 0.5, cache: str | Path | None = None,
                 pad_id: int = 0, **_: Any) -> None:
        if group < 2:
            raise ValueError("group must be at least 2 (the code and one negative)")
        self.tok = tokenizer if tokenizer is not None and not isinstance(tokenizer, (str, Path)) \
            else load_tokenizer(tokenizer or "minilm", max_length)
        self.tok.enable_truncation(max_length)
        self.group, self.sentence_share, self.pad_id = group, sentence_share, pad_id
        self.negatives_model, self.cache = negatives_model or None, cache
        self.hard: dict[str, list[str]] = {}

    def fit(self, examples: list[dict]) -> None:
        """Mine the hard negatives of the bimodal training records (the cache is contrastive's
        too: the same summaries against the same codes)."""
        self.hard.update(self._mine(examples, self.cache))

    def fit_valid(self, examples: list[dict]) -> None:
        """Mine the validation records' negatives among their own codes (not cached)."""
        self.hard.update(self._mine(examples, None))

    def _mine(self, examples: list[dict], cache: str | Path | None) -> dict[str, list[str]]:
        pairs = [r for r in examples if r["nl"]]
        texts = [record_text(r) for r in pairs]
        mined = mine_negatives([r["nl"] for r in pairs], texts, NEGATIVES, self.negatives_model, cache)
        return {r["id"]: [texts[j] for j in row if j >= 0] for r, row in zip(pairs, mined)}

    def encode(self, pairs: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
        """Token ids, mask and token types of (query, code) pairs, padded to the longest: the
        exported re-ranker's own inputs (`pair_batch`), as tensors."""
        return {k: torch.from_numpy(v) for k, v in pair_batch(self.tok.encode_batch(pairs), self.pad_id).items()}

    def collate(self, examples: list[dict], generator: torch.Generator | None = None) -> dict | None:
        """Groups of (query, own code, negatives...); records without enough negatives are left out."""
        pairs = []
        for r in examples:
            options = self.hard.get(r.get("id"), []) if r["nl"] else []
            if len(options) < self.group - 1:
                continue
            picks = torch.randperm(len(options), generator=generator)[:self.group - 1].tolist()
            use_sentence = float(torch.rand((), generator=generator)) < self.sentence_share
            query = first_sentence(r["nl"]) if use_sentence else r["nl"]
            pairs += [(query, record_text(r))] + [(query, options[i]) for i in picks]
        return self.encode(pairs) if pairs else None

    def __call__(self, model: torch.nn.Module, batch: dict | None) -> tuple[torch.Tensor, dict[str, float]]:
        if batch is None:
            device = next(model.parameters()).device
            return torch.zeros((), device=device, requires_grad=True), {"tokens": 0.0}
        scores = model.score_pairs(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        scores = scores.float().view(-1, self.group)
        target = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)
        loss = F.cross_entropy(scores, target)
        acc = (scores.argmax(-1) == 0).float().mean()
        return loss, {"acc": float(acc), "tokens": float(batch["attention_mask"].sum())}
