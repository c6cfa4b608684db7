"""The `rerank` recipe (`codelm train rerank`): a cross-encoder re-ranker for code search,
MiniLM (or another checkpoint) cut to its first `layers` blocks (3 by default: a re-ranker
reads 20 candidates per query, so its depth is its latency) and trained with the discriminator
head by the `rerank` objective (listwise, on mined hard negatives) on a `codelm corpus`.

The output directory is a complete checkpoint with the base's tokenizer; `write_delta(...,
heads=HEADS)` stores the changed blocks and the head over the base, how the shipped
re-ranker (codelm/data/rerank) is made.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codelm.recipes.search import fine_tune

LAYERS = 3  # blocks kept from the base
HEADS = ("discriminator.",)  # the score head, trained with the top blocks
OBJECTIVE_KEYS = {"max_length": int, "group": int, "negatives_model": str, "sentence_share": float}
DEFAULTS = {"lr": 5e-5, "batch_size": 8, "weight_decay": 0.01, "eval_every": 200, "eval_batches": 10,
            "log_every": 10}


def train_rerank(data: str | Path, out: str | Path, max_steps: int | None = None,
                 overrides: list[str] = (), base: str = "minilm", resume: bool = False,
                 train_layers: int | None = None, time_limit: float | None = None,
                 layers: int = LAYERS) -> dict[str, Any]:
    """Train a re-ranker from `base`'s first `layers` blocks (its top `train_layers` of them,
    default all) on the corpus `data`; returns train's summary."""
    return fine_tune("rerank", OBJECTIVE_KEYS, DEFAULTS, data, out, max_steps, overrides, base, resume,
                     train_layers or layers, time_limit, heads=HEADS, layers=layers)
