"""Training objectives, chosen by name: `get_objective("mlm+rtd", tokenizer=tok)`.

An objective is an object with
  `collate(examples, generator) -> batch`   examples are dicts of token ids (see `data.py`);
                                             all randomness comes from `generator`;
  `__call__(model, batch) -> (loss, metrics)` a scalar loss and a dict of floats (with
                                             "tokens": real tokens in the batch);
  `fit(examples) -> None`                   optional: learn from the training set (RTD's
                                             n-gram generators).
Names joined by `+` build a `Combined` objective: each part collates its own sub-batch and
the losses add up.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import torch

from codelm.errors import UsageError

REGISTRY: dict[str, Callable[..., Any]] = {}
BUILTIN = {"mlm": "codelm.objectives.mlm", "rtd": "codelm.objectives.rtd",
           "contrastive": "codelm.objectives.contrastive",
           "seq2seq": "codelm.objectives.seq2seq", "span": "codelm.objectives.span",
           "trace": "codelm.objectives.trace", "cached-seq2seq": "codelm.objectives.cached_states",
           "rerank": "codelm.objectives.rerank", "query-tower": "codelm.objectives.query_tower",
           "code-tower": "codelm.objectives.code_tower"}


def register(name: str) -> Callable:
    """Class decorator: make an objective available under `name`."""
    def add(cls: Callable) -> Callable:
        REGISTRY[name] = cls
        return cls
    return add


class Combined:
    """The sum of several objectives; metrics are prefixed by each part's name."""

    def __init__(self, parts: dict[str, Any]) -> None:
        self.parts = parts

    def fit(self, examples: list[dict]) -> None:
        for part in self.parts.values():
            if hasattr(part, "fit"):
                part.fit(examples)

    def collate(self, examples: list[dict], generator: torch.Generator) -> dict[str, Any]:
        return {name: part.collate(examples, generator) for name, part in self.parts.items()}

    def __call__(self, model: torch.nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        total, metrics = 0.0, {"tokens": 0.0}
        for name, part in self.parts.items():
            loss, m = part(model, batch[name])
            total = total + loss
            metrics["tokens"] = max(metrics["tokens"], m.pop("tokens", 0.0))
            metrics[f"{name}_loss"] = float(loss.detach())
            metrics.update({f"{name}_{k}": v for k, v in m.items()})
        return total, metrics


def get_objective(name: str, **kwargs: Any) -> Any:
    """The objective `name` ("mlm", "rtd", "mlm+rtd", ...), built with kwargs (tokenizer, ...)."""
    names = [n.strip() for n in name.split("+") if n.strip()]
    for n in names:
        if n not in REGISTRY and n in BUILTIN:
            importlib.import_module(BUILTIN[n])
    unknown = [n for n in names if n not in REGISTRY]
    if not names or unknown:
        raise UsageError(f"unknown objective {'+'.join(unknown) or name!r}; "
                         f"use one of {', '.join(sorted(set(REGISTRY) | set(BUILTIN)))}, joined by +")
    if len(names) == 1:
        return REGISTRY[names[0]](**kwargs)
    return Combined({n: REGISTRY[n](**kwargs) for n in names})
