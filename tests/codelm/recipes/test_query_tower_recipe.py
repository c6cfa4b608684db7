"""`train_queries` trains a query tower that search uses for queries only; the index's vectors stay."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_query_tower_encodes_queries_and_leaves_codes_to_its_base(tiny_corpus, tmp_path) -> None:
    from codelm.core import QUERY_TOWER, resolve_model_dir
    from codelm.recipes.search import train_queries, write_delta
    from indexers.embed import Encoder

    out = tmp_path / "tower"
    result = train_queries(tiny_corpus, out, max_steps=2, base="minilm", train_layers=1, overrides=[
        "batch_size=4", "progress=false", "lr=1e-3"])
    assert result["step"] == 2 and result["train_pairs"] == 4
    assert result["trainable_parameters"] == 1_774_464  # one MiniLM block
    with np.load(tiny_corpus / "codes-minilm.npz") as cached:  # the base's code vectors, kept
        assert cached["vectors"].shape == (4, 384)
        assert str(cached["fingerprint"]) == Encoder("minilm").fingerprint
    encoder_dir = tmp_path / "encoder"  # an encoder equal to MiniLM (an empty delta), with the tower
    write_delta(resolve_model_dir("minilm"), encoder_dir)
    before = Encoder(str(encoder_dir), int8=False).fingerprint
    meta = write_delta(out, encoder_dir / QUERY_TOWER, base="minilm")
    assert meta["tensors"] == 12  # the one trained block
    encoder = Encoder(str(encoder_dir), int8=False)
    assert encoder.fingerprint == before  # indexes made by the encoder stay valid
    texts = ["sum of two numbers"]
    tower = encoder.queries()
    assert tower is not encoder and encoder.queries() is tower
    assert not np.allclose(tower.encode(texts), encoder.encode(texts), atol=1e-4)
    assert np.allclose(encoder.encode(texts), Encoder("minilm", int8=False).encode(texts), atol=1e-3)
    assert Encoder("minilm", int8=False).queries().name == "minilm"  # no tower: queries as codes


@pytest.mark.slow
def test_a_tower_trains_further_from_init(tiny_corpus, tmp_path) -> None:
    import torch

    from codelm.core.checkpoint import load_pretrained
    from codelm.recipes.search import train_queries

    settings = ["batch_size=4", "progress=false"]
    first = tmp_path / "first"
    train_queries(tiny_corpus, first, max_steps=2, base="minilm", train_layers=1, overrides=[*settings, "lr=1e-3"])
    further = tmp_path / "further"  # at rate 0 a step leaves the weights it started from
    result = train_queries(tiny_corpus, further, max_steps=1, base="minilm", train_layers=1,
                           overrides=[*settings, "lr=0"], init=str(first))
    assert result["step"] == 1
    top = "blocks.5.qkv.weight"
    start, end, stock = (load_pretrained(d).state_dict() for d in (first, further, "minilm"))
    assert torch.equal(start[top], end[top]) and not torch.equal(end[top], stock[top])


def test_init_needs_queries_only(codelm_cli, tiny_corpus, tmp_path) -> None:
    result = codelm_cli("train", "search", "--data", str(tiny_corpus), "--out", str(tmp_path / "out"),
                        "--init", str(tmp_path))
    assert result.returncode == 2 and "--queries-only" in result.stderr


@pytest.mark.slow
def test_vectors_cached_for_other_weights_or_lengths_are_made_again(tmp_path) -> None:
    from codelm.objectives.query_tower import cached_vectors
    from indexers.embed import load_encoder

    cache = tmp_path / "codes.npz"  # e.g. made before the encoder was retrained
    np.savez(cache, vectors=np.zeros((1, 384), dtype=np.float16), fingerprint=np.asarray("other weights"))
    vectors = cached_vectors(["def add(a, b): return a + b"], "minilm", False, cache)
    assert np.allclose(vectors, load_encoder("minilm").encode(["def add(a, b): return a + b"]), atol=1e-6)
    with np.load(cache) as stored:
        assert str(stored["fingerprint"]) == load_encoder("minilm").fingerprint
        assert np.allclose(stored["vectors"].astype(np.float32), vectors, atol=1e-2)
        assert int(stored["max_tokens"]) == load_encoder("minilm").max_tokens == 128
    own = np.asarray(load_encoder("minilm").fingerprint)
    np.savez(cache, vectors=np.zeros((1, 384), dtype=np.float16), fingerprint=own, max_tokens=np.asarray(256))
    assert cached_vectors(["anything"], "minilm", False, cache).any()  # cut to another length: made again
    np.savez(cache, vectors=np.zeros((1, 384), dtype=np.float16), fingerprint=own, max_tokens=np.asarray(128))
    assert not cached_vectors(["anything"], "minilm", False, cache).any()  # these weights' own: read back
