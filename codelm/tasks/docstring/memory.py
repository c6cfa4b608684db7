"""The docstring model's memory of its training functions, for code it has seen nearly as is.

Code is often copied: `email.mime.image._jpeg` is `imghdr.test_jpeg` renamed, and a method
that wraps a dict reads the same in many classes. When a function shares at least half of
its code tokens (identifier-split, as search splits them; Jaccard similarity of the two
sets) with a documented training function, that function's summary is the better answer,
and the decoder is not asked (`DocstringWriter.write`).

Each training function is kept as a b-bit MinHash signature (Broder 1997; Li & Koenig 2010):
PERMUTATIONS min-hashes of its token set, of which the lowest 8 bits are stored, so 64 bytes
a function. The share of equal bytes estimates the Jaccard similarity (two unequal min-hashes
agree in their low 8 bits 1 time in 256, which the estimate removes). Files, beside the model:
`memory.npy` (functions x PERMUTATIONS, uint8) and `memory.json.gz` (their summaries).
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

PERMUTATIONS = 64
THRESHOLD = 0.5  # estimated Jaccard similarity from which a training summary is reused
SIGNATURES, SUMMARIES = "memory.npy", "memory.json.gz"
_PRIME = np.uint64(4294967311)  # the first prime above 2**32: crc32 values are below it
_SEEDS = np.random.default_rng(20261206).integers(1, 2**31, (2, PERMUTATIONS), dtype=np.uint64)


def signature(code: str) -> np.ndarray:
    """(PERMUTATIONS,) uint8: the low bytes of the min-hashes of the code's token set."""
    from indexers.text import code_tokens

    tokens = sorted(set(code_tokens(code)))
    if not tokens:
        return np.zeros(PERMUTATIONS, dtype=np.uint8)
    x = np.array([zlib.crc32(t.encode("utf-8")) for t in tokens], dtype=np.uint64)
    a, b = _SEEDS
    return ((a[:, None] * x[None, :] + b[:, None]) % _PRIME).min(1).astype(np.uint8)


def write_memory(codes: Sequence[str], summaries: Sequence[str], directory: str | Path) -> Path:
    """Write the memory of these training functions (code, normalised summary) into `directory`."""
    directory = Path(directory)
    if len(codes) != len(summaries):
        raise ValueError("the memory needs one summary per function")
    signatures = np.stack([signature(c) for c in codes]) if codes else np.zeros((0, PERMUTATIONS), np.uint8)
    np.save(directory / SIGNATURES, signatures)
    with gzip.open(directory / SUMMARIES, "wt", encoding="utf-8") as handle:
        json.dump({"summaries": list(summaries)}, handle)  # signatures.shape[1] is the permutation count
    return directory


class Memory:
    """A model's memory (see the module docstring), loaded from its directory."""

    def __init__(self, directory: str | Path) -> None:
        directory = Path(directory)
        self.signatures = np.load(directory / SIGNATURES)
        with gzip.open(directory / SUMMARIES, "rt", encoding="utf-8") as handle:
            self.summaries: list[str] = json.load(handle)["summaries"]

    @staticmethod
    def exists(directory: str | Path) -> bool:
        return (Path(directory) / SIGNATURES).is_file() and (Path(directory) / SUMMARIES).is_file()

    def nearest(self, code: str) -> tuple[str, float]:
        """(the summary of the training function most similar to `code`, the estimated Jaccard)."""
        if not len(self.summaries):
            return "", 0.0
        agree = (self.signatures == signature(code)).sum(1, dtype=np.uint8)  # counts <= 64: twice as fast as mean
        best = int(agree.argmax())
        share = agree[best] / PERMUTATIONS
        return self.summaries[best], float((share - 1 / 256) / (1 - 1 / 256))

    def recall(self, code: str, threshold: float = THRESHOLD) -> str | None:
        """The remembered summary when `code` is a near copy of a training function, else None."""
        summary, similarity = self.nearest(code)
        return summary if similarity >= threshold else None
