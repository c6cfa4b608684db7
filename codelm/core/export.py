"""The encoder on ONNX Runtime: export a checkpoint, quantise it, run it.

`export_encoder` loads a checkpoint into the core (a delta over its base included), exports
the graph with `torch.onnx.export` (input_ids, attention_mask -> last hidden state), quantises
its MatMul weights to int8 with onnxruntime's `quantize_dynamic` (per channel), and embeds a
fixed probe set (codelm/data/onnx_probe.json: code units and queries) with the fp32 torch
model and with each candidate. int8 is kept only where every probe's cosine to fp32 holds;
else the graph of the model with smoothed activations (`codelm.core.smooth`, ranges from the
probe pass) is quantised and checked; else the int8 graph is tried again with the sensitive
MatMuls left in fp32 (`nodes_to_exclude`), else fp32 ONNX is kept. What was kept, and why, goes
to `export.json` beside the models.

Running needs only onnxruntime and numpy: `open_session`, `batches` (length sorted, cut by a
token budget) and `pool` (mean over real tokens, L2 norm, as sentence-transformers does).
torch is imported by `export_encoder` alone.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

PROBE_FILE = Path(__file__).resolve().parents[1] / "data" / "onnx_probe.json"
RECORD = "export.json"
FP32, INT8 = "model.onnx", "model.int8.onnx"
MIN_COSINE = 0.99
OPSET = 17
# tokens per batch (4 texts of 256 tokens, 32 of 32), each batch on one core (`run`'s workers):
# on index_speed's 606 units, 2 cores, 194 units/s against 172 at 2048 (and 174 for one
# 2048-token batch on both cores); the probe check batches as the encoder runs
BATCH_TOKENS = 1024
VERSION = 2  # of the export procedure; int8 exports of an older one are redone (2: smoothing)
SMOOTH_ALPHA = 0.75  # 0.5, 0.6, 0.75 and 0.9 tried on the stock MiniLM: only 0.75 held 0.99
# MatMul groups left in fp32, tried in order until the int8 graph holds (names of the core's
# Linear layers in each block; the FFN output sees GELU activations of very uneven range)
EXCLUDE_TRIES = (("ffn_out",), ("ffn_out", "ffn_in"), ("ffn_out", "ffn_in", "attn_out"))


def open_session(path: Path, threads: int | None = None, optimized: bool = False):
    """An onnxruntime CPU session on `threads` intra-op threads (default: every core), one
    inter-op thread, sequential execution: the same input gives the same output every run.
    `optimized`: the graph was saved optimized (`export_encoder` does), so none is redone."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_DISABLE_ALL if optimized
                                        else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options.log_severity_level = 3  # warnings about unused initializers are not the user's concern
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def batches(ids: Sequence[Sequence[int]], pad_id: int,
            batch_tokens: int) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """(rows, input_ids, attention_mask) batches over token id lists, longest first; each holds
    about `batch_tokens` tokens, padding included (at least one text)."""
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    start = 0
    while start < len(order):
        width = max(len(ids[order[start]]), 1)
        rows = order[start:start + max(1, batch_tokens // width)]
        start += len(rows)
        batch = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            batch[r, :len(ids[i])] = ids[i]
            mask[r, :len(ids[i])] = 1
        yield rows, batch, mask


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence vectors (batch, hidden) float32: mean of the real tokens' states, L2 normalised."""
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def run(session, ids: Sequence[Sequence[int]], pad_id: int, batch_tokens: int,
        progress: Callable[[int], None] | None = None, workers: int = 1) -> np.ndarray:
    """Unit vectors (float32) of token id lists in input order, with an onnxruntime session;
    `progress(n)` is told of each batch done. With `workers` > 1 that many threads run batches
    at once on the session (best one on a single intra-op thread each: the same vectors as one
    thread, and the cores never wait on each other inside a small operator)."""
    out = np.zeros((len(ids), session.get_outputs()[0].shape[-1]), dtype=np.float32)
    real = [i for i, x in enumerate(ids) if x]  # no tokens (a tokenizer without specials): a zero vector
    if len(real) < len(ids) and progress:
        progress(len(ids) - len(real))

    def embed(part: tuple[list[int], np.ndarray, np.ndarray]) -> tuple[list[int], np.ndarray]:
        rows, batch, mask = part
        return rows, pool(session.run(None, {"input_ids": batch, "attention_mask": mask})[0], mask)

    parts = batches([ids[i] for i in real], pad_id, batch_tokens)
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as threads:
        done = map(embed, parts) if threads is None else _ahead(threads, embed, parts, 2 * workers)
        for rows, vectors in done:
            out[[real[r] for r in rows]] = vectors
            if progress:
                progress(len(rows))
    return out


def _ahead(threads: ThreadPoolExecutor, fn: Callable, items: Iterator, window: int) -> Iterator:
    """fn over items on the threads, in order, with at most `window` calls under way (the padded
    batches of a large repository are made as they are needed, not all at once)."""
    pending: deque = deque()
    for item in items:
        pending.append(threads.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def probe_ids(tokenizer_file: Path, max_tokens: int) -> list[list[int]]:
    """Token ids of the probe texts, truncated as the encoder truncates (texts with none left out)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    texts = json.loads(PROBE_FILE.read_text(encoding="utf-8"))["texts"]
    return [e.ids for e in tokenizer.encode_batch(texts) if e.ids]


def export_encoder(model_dir: Path, out_dir: Path, max_tokens: int = 256, batch_tokens: int = BATCH_TOKENS,
                   int8: bool = True) -> dict:
    """Export the checkpoint in `model_dir` to `out_dir` (model.onnx, model.int8.onnx when kept,
    export.json) and return the record: which graph to run ("int8" or "fp32"), the probe's
    cosines to the fp32 torch model and the MatMuls left in fp32. `int8=False` exports fp32
    alone (no quantisation tried: the record's "int8_checked" is false)."""
    import torch

    from codelm.core.checkpoint import load_pretrained
    from codelm.core.smooth import input_ranges, smoothed

    out_dir.mkdir(parents=True, exist_ok=True)
    model = load_pretrained(model_dir).eval()
    ids = probe_ids(model_dir / "tokenizer.json", max_tokens)
    pad_id = model.config.pad_token_id
    ranges: dict = {}
    with torch.inference_mode(), input_ranges(model, ranges):
        reference = np.zeros((len(ids), model.config.hidden_size), dtype=np.float32)
        for rows, batch, mask in batches(ids, pad_id, batch_tokens):
            reference[rows] = model.embed(torch.from_numpy(batch), torch.from_numpy(mask)).numpy()
    _export_graph(model, out_dir / FP32, pad_id)
    record = {"pad_id": pad_id, "dim": model.config.hidden_size, "opset": OPSET, "min_cosine": MIN_COSINE,
              "probe": len(ids), "fp32": _cosines(out_dir / FP32, ids, pad_id, batch_tokens, reference)}
    record.update(choose_int8(out_dir, model.config.num_layers,
                              lambda path: _cosines(path, ids, pad_id, batch_tokens, reference),
                              lambda cos: cos["min"] >= MIN_COSINE,
                              lambda path: _export_graph(smoothed(model, ranges, SMOOTH_ALPHA), path, pad_id))
                  if int8
                  else {"kept": "fp32", "int8": None, "smoothing": None, "fp32_nodes": [], "tried": []})
    return finish_export(out_dir, record, int8)


def _export_graph(model, path: Path, pad_id: int) -> None:
    """The core as an ONNX graph (input_ids, attention_mask) -> last_hidden_state, traced on a
    batch with padding (the padded branch of the attention mask is the general one)."""
    import warnings

    import torch

    class Hidden(torch.nn.Module):
        def __init__(self, core: torch.nn.Module) -> None:
            super().__init__()
            self.core = core

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.core(input_ids, attention_mask).last_hidden_state

    ids = torch.tensor([[pad_id + 5] * 8, [pad_id + 5] * 5 + [pad_id] * 3])
    mask = (ids != pad_id).long()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes read as Python ints
        torch.onnx.export(Hidden(model), (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in
                                        ("input_ids", "attention_mask", "last_hidden_state")})


def _optimize(path: Path) -> None:
    """Save the graph as onnxruntime optimizes it (fusions, constant folding; no layout specific
    to this CPU), in place: a session then opens without optimizing it again, a good part of a
    cold search's time."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(path.with_suffix(".tmp"))
    options.log_severity_level = 3
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    path.with_suffix(".tmp").replace(path)


def _cosines(path: Path, ids: list[list[int]], pad_id: int, batch_tokens: int, reference: np.ndarray) -> dict:
    """Minimum and mean cosine of a graph's probe vectors to the fp32 torch ones."""
    cos = (run(open_session(path), ids, pad_id, batch_tokens) * reference).sum(1)
    return {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5)}


def choose_int8(out_dir: Path, layers: int, measure: Callable[[Path], dict], holds: Callable[[dict], bool],
                export_smoothed: Callable[[Path], None] | None = None) -> dict:
    """Quantise `out_dir`'s fp32 graph; keep the first int8 graph whose `measure` (against fp32
    torch) `holds`: every MatMul in int8; then, given `export_smoothed` (writes the fp32 graph of
    the smoothed model to a path), the smoothed graph in int8; then the fewest MatMul groups left
    in fp32; else fp32. The record's "kept", "int8" (the measure kept), "smoothing" (its alpha, or
    None), "fp32_nodes" and every "tried"."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    matmuls = [n.name for n in onnx.load(str(out_dir / FP32), load_external_data=False).graph.node
               if n.op_type in ("MatMul", "Gemm")]
    smooth = out_dir / "model.smoothed.onnx"
    tries = [((), None)] + ([((), SMOOTH_ALPHA)] if export_smoothed else []) + [(g, None) for g in EXCLUDE_TRIES]
    tried = []
    for groups, alpha in tries:
        exclude = [n for n in matmuls if any(f"/{g}/" in n for g in groups)]
        if groups and len(exclude) < layers * len(groups):
            continue  # a graph whose names do not follow the core's: nothing to exclude by name
        if alpha is not None:
            export_smoothed(smooth)
        logging.disable(logging.WARNING)  # its advice to pre-process is for static quantisation
        try:
            quantize_dynamic(smooth if alpha is not None else out_dir / FP32, out_dir / INT8, per_channel=True,
                             weight_type=QuantType.QInt8, nodes_to_exclude=exclude)
        finally:
            logging.disable(logging.NOTSET)
            smooth.unlink(missing_ok=True)
        measured = measure(out_dir / INT8)
        tried.append({"fp32_groups": list(groups), "smoothing": alpha, **measured})
        if holds(measured):
            return {"kept": "int8", "int8": measured, "smoothing": alpha, "fp32_nodes": exclude, "tried": tried}
    (out_dir / INT8).unlink(missing_ok=True)
    return {"kept": "fp32", "int8": None, "smoothing": None, "fp32_nodes": [], "tried": tried}


def finish_export(out_dir: Path, record: dict, int8: bool) -> dict:
    """Optimize the kept graphs in place and write the record beside them; returns it."""
    record["int8_checked"], record["version"] = int8, VERSION
    for name in (FP32, INT8) if record["kept"] == "int8" else (FP32,):
        _optimize(out_dir / name)
    record["optimized"] = True
    (out_dir / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return record


def notice(message: str) -> None:
    """One line on stderr (exports are rare and take seconds: the user should know why)."""
    print(message, file=sys.stderr, flush=True)
