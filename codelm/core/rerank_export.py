"""The search re-ranker on ONNX Runtime: export a cross-encoder checkpoint, quantise, check.

The graph reads (input_ids, attention_mask, token_type_ids) of "[CLS] query [SEP] code [SEP]"
pairs and returns one score per row: the discriminator head on the mean token state, as the
`rerank` objective trains it (`CodeLM.score_pairs`). It is checked on probe pairs
(each probe query of codelm/data/onnx_probe.json against several probe texts) against the fp32
torch model: int8 is kept only where the scores keep their order, Pearson correlation >=
MIN_CORRELATION, trying the same MatMul groups in fp32 as the encoder's export
(`codelm.core.export.choose_int8`); otherwise fp32 ONNX. torch is imported here alone;
running needs onnxruntime and numpy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from codelm.core.export import FP32, OPSET, PROBE_FILE, choose_int8, finish_export, open_session

MIN_CORRELATION = 0.99
PROBE_CANDIDATES = 8  # probe texts paired with each probe query


def pair_batch(encodings: list, pad_id: int) -> dict[str, np.ndarray]:
    """The ONNX inputs of tokenized pairs or texts (`tokenizers` encodings), padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    feeds = {k: np.zeros((len(encodings), width), dtype=np.int64)
             for k in ("input_ids", "attention_mask", "token_type_ids")}
    feeds["input_ids"].fill(pad_id)
    for r, e in enumerate(encodings):
        feeds["input_ids"][r, :len(e.ids)] = e.ids
        feeds["attention_mask"][r, :len(e.ids)] = 1
        feeds["token_type_ids"][r, :len(e.ids)] = e.type_ids
    return feeds


def probe_pairs(tokenizer_file: Path, max_tokens: int) -> list:
    """Tokenized (query, text) probe pairs, truncated as the re-ranker truncates."""
    from tokenizers import Tokenizer

    probe = json.loads(PROBE_FILE.read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    units = [t for t in probe["texts"] if " in " in t.split("\n")[0] and t.split("\n")[0].endswith(")")]
    queries = [t for t in probe["texts"] if t.strip() and t not in units]
    pairs = [(q, units[(i * 3 + j) % len(units)]) for i, q in enumerate(queries) for j in range(PROBE_CANDIDATES)]
    return tokenizer.encode_batch(pairs)


def _scores(session, encodings: list, pad_id: int, batch: int = 16) -> np.ndarray:
    return np.concatenate([session.run(None, pair_batch(encodings[i:i + batch], pad_id))[0].reshape(-1)
                           for i in range(0, len(encodings), batch)])


def export_reranker(model_dir: Path, out_dir: Path, max_tokens: int = 128, int8: bool = True) -> dict:
    """Export the re-ranker in `model_dir` to `out_dir` (model.onnx, model.int8.onnx when kept,
    export.json) and return the record, as `codelm.core.export.export_encoder` does."""
    import torch

    from codelm.core.checkpoint import load_pretrained

    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_pretrained(model_dir).eval()
    pad_id = model.config.pad_token_id
    encodings = probe_pairs(model_dir / "tokenizer.json", max_tokens)
    score = _Score(model)
    with torch.inference_mode():
        feeds = [pair_batch(encodings[i:i + 16], pad_id) for i in range(0, len(encodings), 16)]
        reference = np.concatenate([score(*(torch.from_numpy(v) for v in f.values())).numpy() for f in feeds])
    _export_graph(score, out_dir / FP32, pad_id)
    fp32 = _scores(open_session(out_dir / FP32), encodings, pad_id)
    record = {"kind": "reranker", "pad_id": pad_id, "max_tokens": max_tokens, "opset": OPSET,
              "min_correlation": MIN_CORRELATION, "probe": len(encodings),
              "fp32": {"max_abs_diff": round(float(np.abs(fp32 - reference).max()), 5)}}
    record.update(choose_int8(out_dir, model.config.num_layers,
                              lambda path: _correlation(path, encodings, pad_id, reference),
                              lambda measured: measured["correlation"] >= MIN_CORRELATION) if int8
                  else {"kept": "fp32", "int8": None, "smoothing": None, "fp32_nodes": [], "tried": []})
    return finish_export(out_dir, record, int8)


def _correlation(path: Path, encodings: list, pad_id: int, reference: np.ndarray) -> dict:
    """Pearson correlation of a graph's probe scores with the fp32 torch ones."""
    got = _scores(open_session(path), encodings, pad_id)
    return {"correlation": round(float(np.corrcoef(got, reference)[0, 1]), 5)}


class _Score:
    """The core as a torch.nn.Module whose forward is `CodeLM.score_pairs`, for the exporter."""

    def __new__(cls, core):
        import torch

        class Score(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.core = core

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.core.score_pairs(input_ids, attention_mask, token_type_ids)

        return Score().eval()


def _export_graph(score, path: Path, pad_id: int) -> None:
    import warnings

    import torch

    ids = torch.tensor([[pad_id + 5] * 8, [pad_id + 5] * 5 + [pad_id] * 3])
    mask, types = (ids != pad_id).long(), torch.zeros_like(ids)
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(score, (ids, mask, types), str(path), opset_version=OPSET, dynamo=False,
                          input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["scores"],
                          dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in
                                           ("input_ids", "attention_mask", "token_type_ids")}, "scores": {0: "batch"}})
