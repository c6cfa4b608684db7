"""Fixtures of the search recipes' tests: a corpus of four documented functions."""

from __future__ import annotations

import pytest

from indexers.corpus import build_corpus

SOURCE = '''
def add(a, b):
    """Return the sum of two numbers."""
    return a + b


def read_lines(path):
    """Open a file and read all of its lines."""
    with open(path) as f:
        return f.readlines()


def sort_desc(items):
    """Sort the given items in reverse order."""
    return sorted(items, reverse=True)


def join_words(words):
    """Join the words with a single space."""
    return " ".join(words)
'''


@pytest.fixture
def tiny_corpus(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ops.py").write_text(SOURCE)
    build_corpus([tmp_path / "src"], tmp_path / "corpus", valid_share=0.0)
    return tmp_path / "corpus"
