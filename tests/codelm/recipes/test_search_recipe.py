"""`train_search` writes an encoder that `indexers.embed.Encoder` loads; CLI errors (the corpus:
`tiny_corpus`, tests/codelm/recipes/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_trained_encoder_and_its_delta_load_in_the_indexer(tiny_corpus, tmp_path) -> None:
    import json

    import numpy as np

    from codelm.recipes.search import train_search, write_delta
    from indexers.embed import Encoder

    out = tmp_path / "enc"
    result = train_search(tiny_corpus, out, max_steps=1, train_layers=2, overrides=[
        "batch_size=4", "max_length=32", "query_length=16", "progress=false", "temperature=0.1", "lr=1e-3"])
    assert result["step"] == 1 and result["train_pairs"] == 4 and result["temperature"] == 0.1
    assert result["trainable_parameters"] == 2 * 1_774_464  # two MiniLM blocks
    assert (out / "tokenizer.json").is_file() and (out / "checkpoint-1" / "tokenizer.json").is_file()
    texts = ["sum of two numbers", "def add(a, b): return a + b"]
    full = Encoder(str(out), int8=False).encode(texts)
    assert full.shape == (2, 384)
    assert abs(float((full[0] ** 2).sum()) - 1.0) < 1e-4
    # only the two trained blocks differ from MiniLM: 12 tensors each, stored in half precision
    meta = write_delta(out, tmp_path / "delta")
    assert meta["tensors"] == 24 and meta["parameters"] == 2 * 1_774_464
    assert json.loads((tmp_path / "delta" / "delta.json").read_text())["base"] == "minilm"
    delta = Encoder(str(tmp_path / "delta"), int8=False)
    assert np.allclose(delta.encode(texts), full, atol=2e-3)
    stock = Encoder("minilm", int8=False)
    assert delta.fingerprint != stock.fingerprint
    assert not np.allclose(stock.encode(texts), full, atol=1e-4)


def test_freeze_below_leaves_the_top_blocks_trainable() -> None:
    from codelm.core.config import ModelConfig
    from codelm.errors import UsageError
    from codelm.core.model import CodeLM
    from codelm.recipes.search import freeze_below

    model = CodeLM(ModelConfig.preset("tiny", vocab_size=50, num_layers=3))
    trainable = freeze_below(model, 1)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names and all(n.startswith("blocks.2.") for n in names)
    assert trainable == sum(p.numel() for p in model.blocks[2].parameters())
    with pytest.raises(UsageError, match="between 1 and 3"):
        freeze_below(model, 4)


def test_unknown_setting_is_a_usage_error(codelm_cli, tiny_corpus, tmp_path) -> None:
    result = codelm_cli("train", "search", "--data", str(tiny_corpus), "--out", str(tmp_path / "o"), "colour=blue")
    assert result.returncode == 2 and "colour" in result.stderr


@pytest.mark.slow
def test_reranker_is_cut_to_its_blocks_and_its_delta_holds_the_head(tiny_corpus, tmp_path) -> None:
    import torch

    from codelm.core.checkpoint import load_pretrained
    from codelm.recipes.rerank import HEADS, train_rerank
    from codelm.recipes.search import write_delta

    out = tmp_path / "rerank"
    result = train_rerank(tiny_corpus, out, max_steps=1, layers=2, overrides=[
        "batch_size=4", "group=2", "max_length=48", "progress=false", "lr=1e-3"])
    assert result["step"] == 1 and result["layers"] == 2 and result["group"] == 2
    head = sum(p.numel() for p in load_pretrained(out).discriminator.parameters())
    assert result["trainable_parameters"] == 2 * 1_774_464 + head  # both kept blocks and the score head
    meta = write_delta(out, tmp_path / "delta", heads=HEADS)
    assert meta["tensors"] == 24 + 4 and meta["parameters"] == 2 * 1_774_464 + head
    trained, delta = load_pretrained(out), load_pretrained(tmp_path / "delta")
    assert len(delta.blocks) == 2 and delta.config.num_layers == 2
    for name, value in trained.state_dict().items():
        if name.startswith(("embeddings.", "blocks.", "discriminator.")):
            assert torch.allclose(value, delta.state_dict()[name].float(), atol=1e-2), name
