"""`train_search` writes an encoder that `indexers.embed.Encoder` loads; CLI errors."""

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


@pytest.mark.slow
def test_trained_encoder_loads_in_the_indexer(tiny_corpus, tmp_path) -> None:
    from codelm.search_train import train_search
    from indexers.embed import Encoder

    out = tmp_path / "enc"
    result = train_search(tiny_corpus, out, max_steps=1, overrides=[
        "batch_size=4", "max_length=32", "query_length=16", "progress=false", "temperature=0.1"])
    assert result["step"] == 1 and result["train_pairs"] == 4 and result["temperature"] == 0.1
    assert (out / "tokenizer.json").is_file()
    encoder = Encoder(str(out))
    vectors = encoder.encode(["sum of two numbers", "def add(a, b): return a + b"])
    assert vectors.shape == (2, 384)
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4


def test_unknown_setting_is_a_usage_error(codelm_cli, tiny_corpus, tmp_path) -> None:
    result = codelm_cli("train", "search", "--data", str(tiny_corpus), "--out", str(tmp_path / "o"), "colour=blue")
    assert result.returncode == 2 and "colour" in result.stderr
