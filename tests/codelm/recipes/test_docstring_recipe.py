"""The docstring training recipe on a tiny corpus and a tiny model."""

from __future__ import annotations

import json

import pytest
import torch

from codelm.tasks.docstring.infer import generate_docstrings, load_model
from codelm.recipes.docstring import train_docstring, warm_start
from codelm.core.tokenizer import default_tokenizer

FUNCTIONS = [("read_text", "Read the text of a file.", "def read_text(path):\n    return open(path).read()\n"),
             ("add", "Add two numbers.", "def add(a, b):\n    return a + b\n"),
             ("square", "Square a number.", "def square(x):\n    return x * x\n")]


@pytest.fixture
def corpus(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    rows = [{"id": n, "kind": "bimodal", "nl": nl, "code": code, "language": "python", "path": "p/m.py",
             "name": n} for n, nl, code in FUNCTIONS]
    (out / "train-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "valid-00000.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (out / "manifest.json").write_text(json.dumps(
        {"schema": 1, "shards": {"train": ["train-00000.jsonl"], "valid": ["valid-00000.jsonl"]}}))
    return out


@pytest.mark.slow
def test_train_docstring_writes_a_usable_model(corpus, tmp_path, one_thread):
    out = tmp_path / "run"
    result = train_docstring(corpus, out, init="tiny", max_steps=3, objective="seq2seq+span",
                             overrides=["batch_size=4", "progress=false", "eval_every=3", "warmup_steps=1",
                                        "save_every=100", "threads=1", "max_position_embeddings=300"])
    assert result["train_examples"] == 12  # 3 functions x 4 directions
    assert result["valid_examples"] == 1 and result["step"] == 3
    assert torch.isfinite(torch.tensor(result["train_loss"]))
    model, tok = load_model(out)
    docs = generate_docstrings(model, tok, [FUNCTIONS[1][2]], num_beams=2, max_new_tokens=5)
    assert len(docs) == 1 and isinstance(docs[0], str)


@pytest.mark.slow
def test_minilm_warm_start_keeps_layers_and_replaces_the_vocabulary():
    from codelm.core.checkpoint import load_pretrained

    tok = default_tokenizer()
    model = warm_start("minilm", tok, {})
    minilm = load_pretrained("minilm")
    assert model.embeddings.word.weight.shape[0] == tok.vocab_size
    assert model.config.pad_token_id == tok.pad_id
    assert torch.equal(model.blocks[3].qkv.weight, minilm.blocks[3].qkv.weight)
    assert torch.equal(model.embeddings.position.weight, minilm.embeddings.position.weight)
