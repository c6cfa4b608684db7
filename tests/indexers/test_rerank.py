"""The re-ranker on ONNX Runtime: export and its check, scores, and search re-ranking the top
candidates (or not, with --no-rerank)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import run_codelm, write_repo


@pytest.fixture(scope="module")
def tiny_reranker(tmp_path_factory):
    """A tiny re-ranker (2 blocks, MiniLM's tokenizer) whose score head prefers pairs that share
    words: trained for a few steps on the test repository's own summaries."""
    import torch

    from codelm.core import resolve_model_dir
    from codelm.core.checkpoint import save_pretrained
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("rerank")
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=30522, num_layers=2, type_vocab_size=2,
                                      max_position_embeddings=512))
    save_pretrained(model, folder)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        if (resolve_model_dir("minilm") / name).is_file():
            shutil.copy2(resolve_model_dir("minilm") / name, folder / name)
    return folder


def test_export_is_checked_against_torch_and_scores_in_order_given(tiny_reranker):
    from indexers.rerank import Reranker

    reranker = Reranker(str(tiny_reranker))
    record = json.loads((reranker.path.parent / "export.json").read_text())
    assert record["kind"] == "reranker" and record["probe"] > 100
    assert record["fp32"]["max_abs_diff"] < 1e-3  # fp32 ONNX is the torch model
    assert record["kept"] == reranker.quantization and record["tried"][0]["fp32_groups"] == []
    texts = ["def add(a, b): return a + b", "x", "word " * 300]
    scores = reranker.score("add two numbers", texts)
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert np.allclose(reranker.score("add two numbers", texts[::-1])[::-1], scores, atol=1e-5)
    assert reranker.score("anything", []).shape == (0,)


def recording_searcher(reranker_dir, kind, tmp_path, monkeypatch):
    """(Searcher of the test repository re-ranking with `reranker_dir`, the index folder, its
    plain top 5 for "read the config file", the texts of each call to `kind.score`)."""
    from indexers.index import build_index
    from indexers.search import Searcher

    root = write_repo(tmp_path / "repo")
    build_index(root, root / ".codelm", progress=False)
    searcher = Searcher(root / ".codelm", rerank=str(reranker_dir))
    plain = searcher.search("read the config file", k=5, rerank=False)
    calls, real = [], kind.score
    monkeypatch.setattr(kind, "score", lambda self, q, texts: calls.append(list(texts)) or real(self, q, texts))
    return searcher, root / ".codelm", plain, calls


def test_search_reranks_the_top_candidates_only_when_on(tiny_reranker, tmp_path, monkeypatch):
    from indexers import rerank
    from indexers.search import Searcher

    searcher, index, plain, calls = recording_searcher(tiny_reranker, rerank.Reranker, tmp_path, monkeypatch)
    ranked = searcher.search("read the config file", k=5, rerank=True)
    assert len(calls) == 1 and len(calls[0]) == len(plain)  # the whole (small) candidate list, once
    assert calls[0][0].startswith("load config (function in config.py)")  # what the index embeds
    assert {r["id"] for r in ranked} == {r["id"] for r in plain}
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    only_fused = searcher.search("read the config file", k=5, rerank=True, rerank_weight=0.0)
    assert [r["id"] for r in only_fused] == [r["id"] for r in plain]  # weight 0: the fused order
    assert len(calls) == 2 and searcher.search("read the config file", k=5, rerank=False) == plain
    assert searcher.search("read the config file", k=5) == ranked  # on by default: it was opened with one
    assert Searcher(index, rerank=False).search("read the config file", k=5) == plain


def test_reranker_options_on_search_serve_and_mcp(tiny_reranker, tmp_path):
    for command in ("search", "serve", "mcp"):
        proc = run_codelm(command, "--help")
        assert proc.returncode == 0 and "--no-rerank" in proc.stdout and "--reranker" in proc.stdout, command
    root = write_repo(tmp_path / "repo")
    assert run_codelm("index", str(root)).returncode == 0
    runs = {flag: run_codelm("search", "read the config file", "--index", str(root / ".codelm"), "--json", *flag)
            for flag in ((), ("--no-rerank",), ("--reranker", str(tiny_reranker)))}
    assert all(proc.returncode == 0 for proc in runs.values()), [p.stderr for p in runs.values()]
    ids = {flag: sorted(r["id"] for r in json.loads(proc.stdout)["results"]) for flag, proc in runs.items()}
    assert len(set(map(tuple, ids.values()))) == 1  # the same candidates, re-ordered or not
    both = run_codelm("search", "x", "--no-rerank", "--reranker", str(tiny_reranker))
    assert both.returncode == 2 and "not allowed with" in both.stderr


@pytest.fixture(scope="module")
def tiny_likelihood(tmp_path_factory):
    """A query-likelihood re-ranker: an untrained tiny docstring decoder over minilm-code's states."""
    import torch

    from codelm.core.tokenizer import default_tokenizer
    from codelm.tasks.docstring.neural import DecoderConfig, DocstringDecoder
    from codelm.tasks.search.likelihood import export_likelihood

    torch.manual_seed(0)
    tok = default_tokenizer()
    model = DocstringDecoder(DecoderConfig(vocab_size=tok.vocab_size, hidden_size=32, num_layers=1, num_heads=2,
                                           intermediate_size=64, memory_size=384, max_target=16, max_source=32,
                                           encoder="minilm-code", pad_token_id=tok.pad_id, bos_token_id=tok.cls_id,
                                           eos_token_id=tok.eos_id))
    folder = tmp_path_factory.mktemp("likelihood")
    export_likelihood(model.save_pretrained(folder / "decoder"), folder / "rerank", int8=False)
    return folder / "rerank"


def test_query_likelihood_reads_code_and_scores_in_order_given(tiny_likelihood):
    from indexers.rerank import QueryLikelihood, available, load_reranker

    reranker = load_reranker(str(tiny_likelihood))
    assert isinstance(reranker, QueryLikelihood) and available(str(tiny_likelihood))
    assert reranker.text("load_config", "function", "config.py", "def load_config(path):", "    return 1") \
        == "def load_config(path):\n    return 1"
    codes = ["def add(a, b):\n    return a + b", "x = 1", "def f():\n" + "    y = 2\n" * 200]
    scores = reranker.score("Add two numbers and " * 20, codes)  # longer than the decoder writes: cut
    assert scores.shape == (3,) and scores.dtype == np.float32 and np.isfinite(scores).all() and (scores < 0).all()
    assert len(set(scores.tolist())) == 3  # the code changes the likelihood
    assert np.allclose(reranker.score("Add two numbers and " * 20, codes[::-1])[::-1], scores, atol=1e-4)
    assert reranker.score("anything", []).shape == (0,)


def test_search_reranks_by_query_likelihood_of_the_code(tiny_likelihood, tmp_path, monkeypatch):
    from indexers import rerank

    searcher, _, plain, calls = recording_searcher(tiny_likelihood, rerank.QueryLikelihood, tmp_path, monkeypatch)
    ranked = searcher.search("read the config file", k=5)
    assert len(calls) == 1 and len(calls[0]) == len(plain)
    # each unit's code as the docstring model reads it: signature and body, no docstring
    assert "def load_config(path):\n    with open(path) as f:\n        return {**DEFAULTS, **json.load(f)}" in calls[0]
    assert {r["id"] for r in ranked} == {r["id"] for r in plain}
