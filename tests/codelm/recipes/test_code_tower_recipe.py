"""`train_codes` trains the code side against the fixed vectors of the base's query encoder."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_code_tower_moves_codes_and_keeps_the_query_tower(tiny_corpus, tmp_path) -> None:
    from codelm.core import QUERY_TOWER, resolve_model_dir
    from codelm.recipes.search import train_codes, train_queries, write_code_delta, write_delta
    from indexers.embed import Encoder

    settings = ["batch_size=4", "progress=false", "lr=1e-3"]
    base = tmp_path / "base"  # an encoder equal to MiniLM (an empty delta) with a query tower
    write_delta(resolve_model_dir("minilm"), base)
    train_queries(tiny_corpus, tmp_path / "qt", max_steps=1, base="minilm", train_layers=1, overrides=settings)
    write_delta(tmp_path / "qt", base / QUERY_TOWER, base="minilm")
    result = train_codes(tiny_corpus, tmp_path / "ct", max_steps=2, base=str(base), train_layers=1,
                         overrides=settings)
    assert result["step"] == 2 and result["train_pairs"] == 4
    assert result["trainable_parameters"] == 1_774_464  # one MiniLM block
    queries = ["return the sum of two numbers."]  # the fixed side, cached: the base's query tower
    with np.load(tiny_corpus / "queries-base.npz") as stored:
        cached = stored["vectors"].astype(np.float32)
    tower, stock = (Encoder(str(base), int8=False).queries(), Encoder("minilm", int8=False))
    assert float(cached[0] @ tower.encode(queries)[0]) > 0.99 > float(cached[0] @ stock.encode(queries)[0])
    out = tmp_path / "encoder"
    meta = write_code_delta(tmp_path / "ct", out, str(base))
    assert meta["base"] == "minilm" and meta["tensors"] == 12  # the one trained block, over MiniLM
    new, old = Encoder(str(out), int8=False), Encoder(str(base), int8=False)
    codes = ["def add(a, b):\n    return a + b"]
    assert not np.allclose(new.encode(codes), old.encode(codes), atol=1e-4)  # the code side moved
    assert np.allclose(new.queries().encode(queries), old.queries().encode(queries), atol=1e-5)


def test_codes_only_and_queries_only_exclude_each_other(codelm_cli, tiny_corpus, tmp_path) -> None:
    result = codelm_cli("train", "search", "--data", str(tiny_corpus), "--out", str(tmp_path / "out"),
                        "--codes-only", "--queries-only")
    assert result.returncode == 2 and "choose one" in result.stderr
