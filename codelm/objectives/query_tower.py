"""A query tower for code search: the encoder of queries learns, the code vectors stay fixed.

The index holds code vectors made by an encoder (`code_model`, the shipped minilm-code by
default). This objective trains a second copy of it that encodes only queries, against those
very vectors (embedded once per corpus on ONNX Runtime as `codelm index` embeds them, cached
beside the corpus): the loss is the cross-entropy of `q @ C.T / temperature` over every code
of the corpus (the full softmax, not in-batch negatives: the candidates cost nothing to
score), where another code documented with the same summary (an overload, a copy) is no
negative. A step pays only for short queries, so on CPU it runs many more pairs than the
contrastive objective, and existing indexes keep their vectors (LiT's "locked" tower, here on
the code side). Queries are drawn as the contrastive objective draws them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from codelm.objectives import register
from codelm.objectives.contrastive import Contrastive
from indexers.text import record_text

MASKED = -1e4  # logit of a code that shares the query's summary


def code_vectors(examples: list[dict], model: str, cache: str | Path | None = None) -> np.ndarray:
    """(len(examples), dim) float32 vectors of the examples' code texts by the encoder `model`
    (int8 ONNX where its export kept it: what the index stores), read from / written to `cache`."""
    if cache is not None and Path(cache).is_file():
        cached = np.load(cache)
        if len(cached) == len(examples):
            return cached.astype(np.float32)
    import sys

    from tqdm import tqdm

    from indexers.embed import load_encoder

    encoder = load_encoder(model)
    with tqdm(total=len(examples), desc=f"embedding codes with {model}", unit="code", file=sys.stderr,
              disable=not sys.stderr.isatty()) as bar:
        vectors = encoder.encode([record_text(r) for r in examples], progress=bar.update)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors.astype(np.float16))
    return vectors


@register("query-tower")
class QueryTower(Contrastive):
    """Queries against the fixed code vectors of the whole corpus; see the module docstring."""

    def __init__(self, code_model: str = "minilm-code", sentence_share: float = 0.6, name_share: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(sentence_share=sentence_share, name_share=name_share, **kwargs)
        self.code_model = code_model
        self.codes = torch.zeros((0, 0))  # row -> its code's vector
        self.row: dict[str, int] = {}  # record id -> its code's row
        self.summaries: list[str] = []  # row -> its record's summary, lowercased
        self.group = torch.zeros(0, dtype=torch.long)  # row -> its summary's number

    def fit(self, examples: list[dict]) -> None:
        """Embed the training codes (cached) as the candidates."""
        self._add([r for r in examples if r["nl"]], self.cache)

    def fit_valid(self, examples: list[dict]) -> None:
        """Add the validation codes to the candidates (not cached)."""
        self._add([r for r in examples if r["nl"]], None)

    def _add(self, pairs: list[dict], cache: str | Path | None) -> None:
        vectors = torch.from_numpy(code_vectors(pairs, self.code_model, cache))
        start = len(self.summaries)
        self.codes = torch.cat([self.codes, vectors]) if start else vectors
        self.row.update({r["id"]: start + i for i, r in enumerate(pairs)})
        self.summaries += [r["nl"].strip().lower() for r in pairs]
        numbers: dict[str, int] = {}
        self.group = torch.tensor([numbers.setdefault(s, len(numbers)) for s in self.summaries], dtype=torch.long)

    def collate(self, examples: list[dict], generator: torch.Generator | None = None) -> dict | None:
        """Tokenized queries and the rows of their codes; None when no record has a summary."""
        pairs = [r for r in examples if r["nl"] and r.get("id") in self.row]
        if not pairs:
            return None
        draws = torch.rand(len(pairs), generator=generator).tolist()
        return {"query": self._pad([self.query(r, d) for r, d in zip(pairs, draws)], self.query_length),
                "rows": torch.tensor([self.row[r["id"]] for r in pairs], dtype=torch.long)}

    def __call__(self, model: torch.nn.Module, batch: dict | None) -> tuple[torch.Tensor, dict[str, float]]:
        if batch is None:
            device = next(model.parameters()).device
            return torch.zeros((), device=device, requires_grad=True), {"tokens": 0.0}
        q = model.embed(batch["query"]["input_ids"], batch["query"]["attention_mask"]).float()
        rows = batch["rows"]
        logits = q @ self.codes.to(q.device).T / self.temperature  # (batch, every code)
        group = self.group.to(q.device)
        same = group[None, :] == group[rows][:, None]
        same[torch.arange(len(rows), device=q.device), rows] = False
        logits = logits.masked_fill(same, MASKED)
        loss = F.cross_entropy(logits, rows)
        acc = (logits.argmax(-1) == rows).float().mean()
        return loss, {"acc": float(acc), "tokens": float(batch["query"]["attention_mask"].sum())}
