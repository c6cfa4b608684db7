"""Lexical search: BM25 (the `bm25s` library) over identifier-split code tokens.

`bm25s` builds and saves the index: its eager index stores each (word, document) score as a
sparse matrix, one column a word. A query sums its words' columns, here in numpy (in the order
`bm25s.BM25.get_scores` sums them, so the scores are the same), so that a search imports
neither bm25s nor scipy (most of a cold search's imports once the encoder left torch).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

MATRIX = ("data", "indices", "indptr")  # the score matrix's arrays (CSC), as bm25s saves them


class BM25:
    """A BM25 index whose documents are unit ids."""

    def __init__(self, vocab: dict[str, int], matrix: dict[str, np.ndarray], ids: np.ndarray,
                 retriever=None) -> None:
        self.vocab = vocab
        self.matrix = matrix  # MATRIX's arrays, and "nonoccurrence" for the BM25L / BM25+ variants
        self.ids = ids
        self.retriever = retriever  # the bm25s index of a `build`, which `save` writes

    @classmethod
    def build(cls, documents: list[list[str]], ids: np.ndarray) -> "BM25":
        import bm25s

        retriever = bm25s.BM25()
        # an empty document would leave bm25s without a vocabulary: give each one a token
        retriever.index([doc or ["\0"] for doc in documents] or [["\0"]], show_progress=False)
        matrix = {name: retriever.scores[name] for name in MATRIX}
        if retriever.nonoccurrence_array is not None:
            matrix["nonoccurrence"] = retriever.nonoccurrence_array
        return cls(retriever.vocab_dict, matrix, np.asarray(ids, dtype=np.int64), retriever)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document (aligned with `self.ids`); unknown words score 0."""
        known = np.asarray([self.vocab[t] for t in query_tokens if t in self.vocab], dtype=np.int64)
        out = np.zeros(len(self.ids), dtype=self.matrix["data"].dtype)
        if not len(self.ids) or not len(known):
            return out.astype(np.float32)
        starts, ends = self.matrix["indptr"][known], self.matrix["indptr"][known + 1]
        docs = np.concatenate([self.matrix["indices"][s:e] for s, e in zip(starts, ends)])
        values = np.concatenate([self.matrix["data"][s:e] for s, e in zip(starts, ends)])
        keep = docs < len(self.ids)  # the placeholder document of an empty corpus
        np.add.at(out, docs[keep], values[keep])  # in order, one addition at a time, as bm25s
        if "nonoccurrence" in self.matrix:
            out += self.matrix["nonoccurrence"][known].sum()
        return out.astype(np.float32)

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
        vocab = json.loads((folder / "vocab.index.json").read_text())
        matrix = {name: np.load(folder / f"{name}.csc.index.npy") for name in MATRIX}
        if (folder / "nonoccurrence_array.index.npy").exists():
            matrix["nonoccurrence"] = np.load(folder / "nonoccurrence_array.index.npy")
        return cls(vocab, matrix, np.load(folder / "ids.npy"))
