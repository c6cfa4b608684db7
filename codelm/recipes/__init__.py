"""Training recipes, found by name: each is a module with one `run(...)` entry on the skeleton
of `codelm.recipes.base`. `codelm ls` prints this registry with the objectives and presets."""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, entry function, one line for `codelm ls`)
RECIPES: dict[str, tuple[str, str, str]] = {
    "pretrain": ("codelm.recipes.pretrain", "pretrain",
                 "CodeBERT pretraining (mlm, rtd, mlm+rtd) of a fresh core: `codelm pretrain`"),
    "docstring": ("codelm.recipes.docstring", "train_docstring",
                  "decoder over a frozen MiniLM (--arch frozen, default), or PyMT5 multi-mode "
                  "seq2seq prefix-LM (--arch prefix-lm): `codelm train docstring`"),
    "search": ("codelm.recipes.search", "train_search",
               "contrastive (InfoNCE) fine-tuning of a search encoder from MiniLM: `codelm train search`"),
    "rerank": ("codelm.recipes.rerank", "train_rerank",
               "cross-encoder re-ranker for search, trained on mined hard negatives: `codelm train rerank`"),
    "trace": ("codelm.recipes.trace", "train_trace",
              "CodeExecutor trace prediction with a curriculum: `codelm train trace`"),
}


def get_recipe(name: str) -> Any:
    """The entry function of recipe `name`."""
    from codelm.errors import UsageError

    if name not in RECIPES:
        raise UsageError(f"unknown recipe {name!r}; use one of {', '.join(RECIPES)}")
    module, entry, _ = RECIPES[name]
    return getattr(importlib.import_module(module), entry)
