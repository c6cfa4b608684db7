"""The encoder on ONNX Runtime: the export and its check, the search path free of torch, the
runtime and quantisation an index records, `--reembed`."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, run_codelm, write_repo


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """A tiny repository indexed with the default model (its export cached for the session)."""
    root = write_repo(tmp_path_factory.mktemp("repo"))
    proc = run_codelm("index", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    return root / ".codelm"


def test_export_of_the_stock_model_is_checked_and_cached(onnx_cache):
    from indexers.embed import Encoder
    from indexers.onnx_cache import export_dir

    encoder = Encoder("minilm")
    folder = encoder.path.parent
    assert folder.parent == onnx_cache / "onnx" and folder == export_dir(folder.name)
    record = json.loads((folder / "export.json").read_text())
    assert record["probe"] == 64 and record["fp32"]["min"] >= 0.9999  # fp32 ONNX is the torch model
    assert record["kept"] == encoder.quantization and encoder.runtime == "onnxruntime"
    if record["kept"] == "int8":  # kept only where it holds, smoothed or with MatMuls left in fp32
        assert record["int8"]["min"] >= 0.99 and encoder.path.name == "model.int8.onnx"
        assert all(node.endswith("/MatMul") for node in record["fp32_nodes"])
    assert (record["tried"][0]["fp32_groups"], record["tried"][0]["smoothing"]) == ([], None)  # plain int8 first
    assert record["version"] == 2
    assert Encoder("minilm", int8=False).path.name == "model.onnx"


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A tiny untrained encoder with the default tokenizer: quick to export."""
    import torch

    from codelm.core.checkpoint import save_pretrained
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM
    from codelm.core.tokenizer import default_tokenizer

    tok = default_tokenizer()
    torch.manual_seed(0)
    folder = save_pretrained(CodeLM(ModelConfig.preset("tiny", vocab_size=tok.vocab_size, pad_token_id=tok.pad_id,
                                                        max_position_embeddings=300)), tmp_path_factory.mktemp("tiny"))
    tok.save(folder)
    return folder


def test_an_export_that_fails_the_check_keeps_fp32(tiny_dir, tmp_path, monkeypatch):
    from codelm.core import export as onnx_export

    monkeypatch.setattr(onnx_export, "MIN_COSINE", 1.01)  # no int8 graph can hold this
    record = onnx_export.export_encoder(tiny_dir, tmp_path)
    assert record["kept"] == "fp32" and record["int8"] is None and record["fp32"]["min"] >= 0.9999
    assert [(t["fp32_groups"], t["smoothing"]) for t in record["tried"]] == [
        ([], None), ([], onnx_export.SMOOTH_ALPHA), *((list(g), None) for g in onnx_export.EXCLUDE_TRIES)]
    assert not list(tmp_path.glob("model.smoothed*"))
    assert not (tmp_path / "model.int8.onnx").exists()
    assert json.loads((tmp_path / "export.json").read_text()) == record


def test_fp32_alone_is_exported_until_int8_is_asked_for(tiny_dir, capfd):
    from indexers.onnx_cache import ensure_export

    folder, record = ensure_export(tiny_dir, "tiny-test", int8=False)
    assert (record["kept"], record["int8_checked"], record["tried"]) == ("fp32", False, [])
    assert ensure_export(tiny_dir, "tiny-test", int8=False)[1] == record  # cached: not exported again
    assert capfd.readouterr().err.count("exporting") == 1
    folder, record = ensure_export(tiny_dir, "tiny-test")  # int8 now: exported again, quantisation tried
    assert record["int8_checked"] and record["tried"] and capfd.readouterr().err.count("exporting") == 1
    assert (folder / "model.int8.onnx").exists() == (record["kept"] == "int8")



def test_an_int8_export_of_an_older_procedure_is_redone(tiny_dir, capfd):
    from indexers.onnx_cache import ensure_export

    folder, record = ensure_export(tiny_dir, "tiny-old")
    (folder / "export.json").write_text(json.dumps({**record, "version": 1}))  # before smoothing
    assert ensure_export(tiny_dir, "tiny-old", int8=False)[1]["version"] == 1  # fp32: any export serves
    folder, again = ensure_export(tiny_dir, "tiny-old")
    assert again["version"] == 2 and capfd.readouterr().err.count("exporting") == 2

def test_encoder_is_deterministic_whatever_the_threads():
    from codelm.core.export import BATCH_TOKENS, run
    from indexers.embed import Encoder

    encoder = Encoder()
    texts = ["parse an email address", "x", "def add(a, b):\n    return a + b", "é ü 中文 🙂", "word " * 400] * 8
    first = encoder.encode(texts)  # 40 texts: batches on every core at once
    assert np.array_equal(encoder.encode(texts), first)
    ids = [e.ids for e in encoder.tokenizer.encode_batch(texts)]
    assert np.array_equal(run(encoder.session(1), ids, encoder.pad_id, BATCH_TOKENS), first)  # one thread, same batches
    done = []
    assert np.array_equal(run(encoder.session(1), ids, encoder.pad_id, BATCH_TOKENS, done.append, workers=3), first)
    assert sum(done) == len(texts) and len(done) > 1  # in input order whatever thread ran a batch
    assert np.array_equal(encoder.encode(texts[:1]), encoder.encode(texts[:1]))


def test_search_serve_and_mcp_never_import_torch(index_dir):
    script = f"""
import json, sys
from codelm.cli import main
assert main(["search", "fibonacci numbers", "--index", {str(index_dir)!r}, "-k", "2", "--json"]) == 0
from codelm.serve import SearchPool
names = [r["name"] for r in SearchPool({str(index_dir)!r}, workers=0).search("transpose a matrix", 1)]
from codelm.mcp_server import IndexService
found = IndexService({str(index_dir)!r}).search("load the configuration", 1, None, None)
print(json.dumps({{"serve": names, "mcp": found["results"][0]["name"],
                   "loaded": sorted(m for m in ("torch", "transformers") if m in sys.modules)}}))
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0])["results"][0]["name"] == "fibonacci"
    assert json.loads(lines[-1]) == {"serve": ["Matrix.transpose"], "mcp": "load_config", "loaded": []}
    assert "exporting" not in proc.stderr  # the export was cached by `codelm index`


def test_index_records_runtime_and_an_older_index_keeps_answering(index_dir):
    from indexers import store

    db = store.connect(index_dir)
    meta = store.read_meta(db)
    assert (meta["runtime"], meta["quantization"]) in {("onnxruntime", "int8"), ("onnxruntime", "fp32")}
    assert meta["max_tokens"] == 128
    # as an index of a codelm before ONNX Runtime: torch int8 vectors of texts cut to 256 tokens,
    # fingerprint marked so
    db.execute("DELETE FROM meta WHERE key IN ('runtime', 'quantization', 'max_tokens')")
    store.write_meta(db, fingerprint=meta["fingerprint"] + "-int8")
    db.close()
    assert store.made_by(store.read_meta(store.connect(index_dir))) == {
        "fingerprint": meta["fingerprint"], "runtime": "torch", "quantization": "int8", "max_tokens": 256}
    proc = run_codelm("search", "fibonacci", "--index", str(index_dir), "-k", "1", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["results"][0]["name"] == "fibonacci", proc.stderr
    root = index_dir.parent
    (root / "extra.py").write_text("def reverse_words(text):\n    return ' '.join(text.split()[::-1])\n")
    proc = run_codelm("index", str(root), "--json")  # embeds the new unit only, says so once
    assert proc.returncode == 0 and json.loads(proc.stdout)["embedded"] == 1, proc.stderr
    notes = [line for line in proc.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "torch int8 from 256 tokens" in notes[0] and "--reembed" in notes[0]
    after = store.made_by(store.read_meta(store.connect(index_dir)))
    assert after == {"fingerprint": meta["fingerprint"], "runtime": "torch", "quantization": "int8", "max_tokens": 256}
    proc = run_codelm("index", str(root), "--reembed", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["embedded"] == 6, proc.stderr
    assert "note:" not in proc.stderr
    after = store.read_meta(store.connect(index_dir))
    assert (after["runtime"], after["quantization"], after["max_tokens"]) == (meta["runtime"], meta["quantization"], 128)
    proc = run_codelm("index", str(root), "--json")  # nothing changed: nothing embedded, no note
    assert json.loads(proc.stdout)["embedded"] == 0 and "note:" not in proc.stderr
