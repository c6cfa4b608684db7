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

MASKED = -1e4  # logit of a candidate that shares the answer's key (the same summary)


def cached_vectors(texts: list[str], model: str, queries: bool, cache: str | Path | None) -> np.ndarray:
    """(len(texts), dim) float32 vectors of `texts` by the encoder `model` (by its query tower
    when `queries`; int8 ONNX where its export kept it, as search runs it), read from / written
    to `cache` (an .npz of the vectors in half precision, the encoder's weights fingerprint and
    the tokens its texts are cut to: vectors of other weights, e.g. from before the model was
    retrained, or of another length are made again)."""
    import sys

    from tqdm import tqdm

    from indexers.embed import load_encoder

    encoder = load_encoder(model).queries() if queries else load_encoder(model)
    if cache is not None and Path(cache).is_file():
        with np.load(cache) as stored:
            if (str(stored["fingerprint"]) == encoder.fingerprint and len(stored["vectors"]) == len(texts)
                    and int(stored.get("max_tokens", -1)) == encoder.max_tokens):
                return stored["vectors"].astype(np.float32)
    what = "queries" if queries else "codes"
    with tqdm(total=len(texts), desc=f"embedding {what} with {model}", unit=what[:-1], file=sys.stderr,
              disable=not sys.stderr.isatty()) as bar:
        vectors = encoder.encode(texts, progress=bar.update)
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        with open(cache, "wb") as handle:
            np.savez(handle, vectors=vectors.astype(np.float16), fingerprint=np.asarray(encoder.fingerprint),
                     max_tokens=np.asarray(encoder.max_tokens))
    return vectors


def code_vectors(examples: list[dict], model: str, cache: str | Path | None = None) -> np.ndarray:
    """The vectors of the examples' code texts by the encoder `model` (what the index stores)."""
    return cached_vectors([record_text(r) for r in examples], model, False, cache)


class LockedSide(Contrastive):
    """One side of search learns against the other side's vectors of the whole corpus, fixed.

    A subclass says which side learns (`side`, the batch key, and `length`, its tokens), what
    the fixed vectors are (`fixed_vectors`), which records share an answer (`key`: no negatives
    of each other) and what text of a record the learning side reads (`texts`)."""

    side = "query"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fixed = torch.zeros((0, 0))  # row -> the fixed vector of its record
        self.row: dict[str, int] = {}  # record id -> its row
        self.keys: list[str] = []  # row -> its record's key
        self.group = torch.zeros(0, dtype=torch.long)  # row -> its key's number

    @property
    def length(self) -> int:
        return self.query_length if self.side == "query" else self.max_length

    def fixed_vectors(self, pairs: list[dict], cache: str | Path | None) -> np.ndarray:
        raise NotImplementedError

    def key(self, record: dict) -> str:
        return record["nl"].strip().lower()

    def texts(self, pairs: list[dict], generator: torch.Generator | None) -> list[str]:
        raise NotImplementedError

    def fit(self, examples: list[dict]) -> None:
        """Embed the training records' fixed side (cached) as the candidates."""
        self._add([r for r in examples if r["nl"]], self.cache)

    def fit_valid(self, examples: list[dict]) -> None:
        """Add the validation records' fixed side to the candidates (not cached)."""
        self._add([r for r in examples if r["nl"]], None)

    def _add(self, pairs: list[dict], cache: str | Path | None) -> None:
        vectors = torch.from_numpy(self.fixed_vectors(pairs, cache))
        start = len(self.keys)
        self.fixed = torch.cat([self.fixed, vectors]) if start else vectors
        self.row.update({r["id"]: start + i for i, r in enumerate(pairs)})
        self.keys += [self.key(r) for r in pairs]
        numbers: dict[str, int] = {}
        self.group = torch.tensor([numbers.setdefault(k, len(numbers)) for k in self.keys], dtype=torch.long)

    def collate(self, examples: list[dict], generator: torch.Generator | None = None) -> dict | None:
        """The learning side's tokens and the rows of their answers; None when no record has a summary."""
        pairs = [r for r in examples if r["nl"] and r.get("id") in self.row]
        if not pairs:
            return None
        return {self.side: self._pad(self.texts(pairs, generator), self.length),
                "rows": torch.tensor([self.row[r["id"]] for r in pairs], dtype=torch.long)}

    def __call__(self, model: torch.nn.Module, batch: dict | None) -> tuple[torch.Tensor, dict[str, float]]:
        """The cross-entropy of `x @ fixed.T / temperature` over every record of the corpus,
        where another record with the same key is no negative."""
        if batch is None:
            device = next(model.parameters()).device
            return torch.zeros((), device=device, requires_grad=True), {"tokens": 0.0}
        tokens = batch[self.side]
        x = model.embed(tokens["input_ids"], tokens["attention_mask"]).float()
        rows = batch["rows"]
        logits = x @ self.fixed.to(x.device).T / self.temperature  # (batch, every record)
        group = self.group.to(x.device)
        same = group[None, :] == group[rows][:, None]
        same[torch.arange(len(rows), device=x.device), rows] = False
        logits = logits.masked_fill(same, MASKED)
        acc = (logits.argmax(-1) == rows).float().mean()
        return F.cross_entropy(logits, rows), {"acc": float(acc), "tokens": float(tokens["attention_mask"].sum())}


@register("query-tower")
class QueryTower(LockedSide):
    """Queries against the fixed code vectors of the whole corpus; see the module docstring."""

    def __init__(self, code_model: str = "minilm-code", sentence_share: float = 0.6, name_share: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(sentence_share=sentence_share, name_share=name_share, **kwargs)
        self.code_model = code_model

    def fixed_vectors(self, pairs: list[dict], cache: str | Path | None) -> np.ndarray:
        return code_vectors(pairs, self.code_model, cache)

    def texts(self, pairs: list[dict], generator: torch.Generator | None) -> list[str]:
        """Each record's query: its summary, first sentence or name in words, drawn."""
        draws = torch.rand(len(pairs), generator=generator).tolist()
        return [self.query(r, d) for r, d in zip(pairs, draws)]
