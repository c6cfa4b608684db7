"""Lexical search: BM25 (the `bm25s` library) over identifier-split code tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class BM25:
    """A BM25 index whose documents are unit ids."""

    def __init__(self, retriever, ids: np.ndarray) -> None:
        self.retriever = retriever
        self.ids = ids

    @classmethod
    def build(cls, documents: list[list[str]], ids: np.ndarray) -> "BM25":
        import bm25s

        retriever = bm25s.BM25()
        # an empty document would leave bm25s without a vocabulary: give each one a token
        retriever.index([doc or ["\0"] for doc in documents] or [["\0"]], show_progress=False)
        return cls(retriever, np.asarray(ids, dtype=np.int64))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document (aligned with `self.ids`); unknown words score 0."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        known = [t for t in query_tokens if t in self.retriever.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)[:len(self.ids)]

    def search(self, query_tokens: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """(unit ids, scores) of the k best documents, best first."""
        scores = self.scores(query_tokens)
        top = np.argsort(-scores, kind="stable")[:k]
        return self.ids[top], scores[top]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.retriever.save(str(folder))
        np.save(folder / "ids.npy", self.ids)

    @classmethod
    def load(cls, folder: Path) -> "BM25":
        import bm25s

        return cls(bm25s.BM25.load(str(folder)), np.load(folder / "ids.npy"))
