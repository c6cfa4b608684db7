"""The curriculum mixer: draw training examples from several datasets in set proportions.

CodeExecutor trained in three stages, easy to hard: SingleLine alone, then SingleLine with
Tutorial, then all three with CodeNet, about a third each (`CODEEXECUTOR_STAGES`).

    for stage, example in mix({"singleline": a, "tutorial": b}, {"singleline": 0.5, "tutorial": 0.5}):
        ...
"""

from __future__ import annotations

import random
from typing import Any, Iterable, Iterator, Mapping

CODEEXECUTOR_STAGES: tuple[dict[str, float], ...] = (
    {"singleline": 1.0},
    {"singleline": 0.5, "tutorial": 0.5},
    {"singleline": 1 / 3, "tutorial": 1 / 3, "codenet": 1 / 3},
)


def mix(stages: Mapping[str, Iterable[Any]], proportions: Mapping[str, float] | None = None,
        seed: int = 0) -> Iterator[tuple[str, Any]]:
    """Yield `(name, example)`, each draw picking a dataset with probability proportional to
    its weight in `proportions` (default: equal). A dataset that runs out is dropped and the
    others keep their relative weights; the mix ends when all are exhausted. Deterministic
    from `seed`. Datasets with weight 0 are never drawn."""
    weights = dict(proportions) if proportions is not None else {name: 1.0 for name in stages}
    unknown = set(weights) - set(stages)
    if unknown or any(w < 0 for w in weights.values()):
        raise ValueError(f"proportions must be non-negative weights of the given stages {sorted(stages)}; "
                         f"unknown: {sorted(unknown)}")
    iters = {name: iter(stages[name]) for name in stages if weights.get(name, 0) > 0}
    rng = random.Random(seed)
    while iters:
        names = list(iters)
        name = rng.choices(names, weights=[weights[n] for n in names])[0]
        try:
            yield name, next(iters[name])
        except StopIteration:
            del iters[name]


def curriculum(stages: Mapping[str, Iterable[Any]], stage: int, seed: int = 0) -> Iterator[tuple[str, Any]]:
    """The mix of CodeExecutor's curriculum `stage` (1, 2 or 3) over the datasets given."""
    if stage not in (1, 2, 3):
        raise ValueError(f"curriculum stage must be 1, 2 or 3, not {stage}")
    proportions = CODEEXECUTOR_STAGES[stage - 1]
    missing = set(proportions) - set(stages)
    if missing:
        raise ValueError(f"stage {stage} needs datasets {sorted(missing)}")
    return mix({name: stages[name] for name in proportions}, proportions, seed)
