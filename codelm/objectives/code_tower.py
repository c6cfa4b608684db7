"""A code tower for code search: the encoder of code learns, the query vectors stay fixed.

The mirror of `query_tower`: once a query tower has been trained against an encoder's code
vectors, the code side can move toward the queries in turn. The queries' vectors (each
training record's first summary sentence, as people type a search, encoded once by the
query tower `query_model` on ONNX Runtime and cached beside the corpus) are the candidates;
the loss is the cross-entropy of `c @ Q.T / temperature` over every query of the corpus,
where another record with the same sentence is no negative. A step pays for the code (up to
`max_length` tokens) but scores it against every query at no cost: the full softmax of the
query tower, on the other side. Indexes made before must be rebuilt (their vectors are the
old encoder's); the query tower stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from codelm.objectives import register
from codelm.objectives.query_tower import LockedSide, cached_vectors
from indexers.corpus import first_sentence
from indexers.text import record_text


def query_vectors(examples: list[dict], model: str, cache: str | Path | None = None) -> np.ndarray:
    """The vectors of the examples' first summary sentences by the query tower of `model`."""
    return cached_vectors([first_sentence(r["nl"]) for r in examples], model, True, cache)


@register("code-tower")
class CodeTower(LockedSide):
    """Codes against the fixed query vectors of the whole corpus; see the module docstring."""

    side = "code"

    def __init__(self, query_model: str = "minilm-code", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query_model = query_model

    def fixed_vectors(self, pairs: list[dict], cache: str | Path | None) -> np.ndarray:
        return query_vectors(pairs, self.query_model, cache)

    def key(self, record: dict) -> str:
        return first_sentence(record["nl"]).strip().lower()

    def texts(self, pairs: list[dict], generator: torch.Generator | None) -> list[str]:
        return [record_text(r) for r in pairs]
