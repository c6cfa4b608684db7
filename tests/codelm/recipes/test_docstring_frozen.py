"""The frozen-encoder docstring recipe on a tiny corpus: encode once, train, time budget, resume."""

from __future__ import annotations

import json

import pytest

from codelm.recipes.docstring import train_docstring
from codelm.tasks.docstring.infer import generate_docstrings, load_model

FUNCTIONS = [("read_text", "Read the text of a file. More words.", "def read_text(path):\n    return open(path).read()\n"),
             ("add", "Add two numbers.", "def add(a, b):\n    return a + b\n"),
             ("square", "Square a number.", "def square(x):\n    return x * x\n"),
             ("is_empty", "Return whether the list is empty.", "def is_empty(xs):\n    return not xs\n")]
TINY = ["hidden_size=32", "num_layers=1", "num_heads=2", "intermediate_size=64", "max_source=16",
        "batch_size=2", "warmup_steps=1", "progress=false", "threads=1", "save_every=2", "eval_every=2"]


@pytest.fixture
def corpus(tmp_path):
    out = tmp_path / "corpus"
    out.mkdir()
    rows = [{"id": f"{i:040x}", "kind": "bimodal", "nl": nl, "code": code, "language": "python",
             "path": f"python3.11/m{i}.py", "name": n} for i, (n, nl, code) in enumerate(FUNCTIONS)]
    (out / "train-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    (out / "valid-00000.jsonl").write_text(json.dumps(rows[3]) + "\n")
    (out / "manifest.json").write_text(json.dumps(
        {"schema": 1, "shards": {"train": ["train-00000.jsonl"], "valid": ["valid-00000.jsonl"]}}))
    return out


def test_frozen_recipe_trains_resumes_and_writes(corpus, tmp_path, one_thread, codelm_cli):
    out = tmp_path / "run"
    first = train_docstring(corpus, out, overrides=TINY + ["stop_at=2"], max_steps=4, arch="frozen",
                            warm_embeddings=False)
    assert (first["train_examples"], first["tune_examples"], first["step"]) == (3, 1, 2)
    assert (corpus / "states-minilm-code-16" / "index.json").is_file()
    again = train_docstring(corpus, out, overrides=TINY, max_steps=4, arch="frozen", resume=True,
                            warm_embeddings=False)
    assert again["step"] == 4 and again["stopped"] == "max_steps"
    writer, tok = load_model(out)
    docs = generate_docstrings(writer, tok, [FUNCTIONS[0][2], FUNCTIONS[1][2]], num_beams=2, max_new_tokens=6,
                               memory=False)
    assert all(d and d[0].isupper() and d.endswith(".") for d in docs)
    # the training functions are in the run's memory: a renamed copy gets the summary it was trained on
    copied = FUNCTIONS[0][2].replace("read_text", "load_text")
    assert generate_docstrings(writer, tok, [copied], num_beams=2, max_new_tokens=6) == ["Read the text of a file."]
    steered = generate_docstrings(writer, tok, [FUNCTIONS[0][2]], num_beams=2, max_new_tokens=6, copy=50.0,
                                  memory=False)[0]
    assert {"read", "text", "path"} & set(steered.lower().rstrip(".").split()), steered
    scored = codelm_cli("eval", "docstring", "--data", str(corpus), "--model", str(out), "--copy", "0", "--no-memory",
                        "--json")
    assert scored.returncode == 0 and json.loads(scored.stdout)["count"] == 1, scored.stderr


def test_frozen_recipe_rejects_core_settings(corpus, tmp_path):
    from codelm.errors import UsageError

    with pytest.raises(UsageError):
        train_docstring(corpus, tmp_path / "run", overrides=["layout=bert"], arch="frozen")


def test_frozen_recipe_goes_on_from_a_trained_model(corpus, tmp_path, one_thread):
    import torch

    from codelm.errors import UsageError
    from codelm.tasks.docstring.neural import load_decoder

    train_docstring(corpus, tmp_path / "first", overrides=TINY, max_steps=2, arch="frozen", warm_embeddings=False)
    first = load_decoder(tmp_path / "first")
    shape = TINY[:5]  # the shape settings, which --init fixes
    with pytest.raises(UsageError, match="the shape comes from --init"):
        train_docstring(corpus, tmp_path / "bad", overrides=TINY + ["hidden_size=64"], max_steps=1, arch="frozen",
                        init=tmp_path / "first")
    result = train_docstring(corpus, tmp_path / "second", overrides=[t for t in TINY if t not in shape],
                             max_steps=2, arch="frozen", init=tmp_path / "first")
    second = load_decoder(tmp_path / "second")
    assert result["step"] == 2 and torch.equal(first.output_ids, second.output_ids)
    assert not torch.equal(first.word.weight, second.word.weight)  # trained on from there
    with pytest.raises(UsageError, match="not a frozen-encoder docstring model"):
        train_docstring(corpus, tmp_path / "third", max_steps=1, arch="frozen", init=tmp_path)
