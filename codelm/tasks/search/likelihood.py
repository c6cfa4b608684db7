"""A docstring decoder as the search re-ranker: how likely is the query as this function's summary?

A frozen-encoder docstring model (`codelm train docstring`) reads a function through the
search encoder's token states and writes its summary. Asked instead for the probability of a
given sentence, it scores (query, function) pairs: query likelihood, as UPR re-ranks passages
(Sachan et al. 2022, "Improving Passage Retrieval with Zero-Shot Question Generation"), with a
model trained here. `export_likelihood` writes it as one ONNX graph, read by `indexers.rerank`
without torch:

    inputs   states (batch, source, 384) float32: the encoder's last-layer token states
             states_mask (batch, source) int64, input_ids (batch, target) int64: <s> query
             targets (batch, target) int64: query </s>, token ids of the code tokenizer
    output   logp (batch, target) float32: log-probability of each target token, 0 for a
             token outside the decoder's output vocabulary (the same for every candidate)

beside a config.json (RERANKER_ARCH, the encoder and how many of its tokens the decoder reads)
and the code tokenizer, when the model has its own. Its MatMuls and embeddings are kept in
int8 (onnxruntime's dynamic quantisation) when probe queries rank their candidates as the
fp32 graph does (mean Spearman correlation >= MIN_CORRELATION); fp32 otherwise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from codelm.core import LIKELIHOOD_GRAPH as GRAPH
from codelm.core import RERANKER_ARCH

MIN_CORRELATION = 0.98


def likelihood_module(model_dir: str | Path) -> Any:
    """The decoder of `model_dir` wrapped as the graph above (a torch module, eval mode)."""
    import torch
    import torch.nn.functional as F

    from codelm.tasks.docstring.neural import load_decoder

    decoder = load_decoder(model_dir)

    class Likelihood(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.decoder = decoder
            lookup = torch.full((decoder.config.vocab_size,), -1, dtype=torch.long)
            lookup[decoder.output_ids] = torch.arange(len(decoder.output_ids))
            self.register_buffer("lookup", lookup)
            # the tied output rows as their own matrix: quantisable, and no gather per call
            self.output = torch.nn.Parameter(decoder.word.weight[decoder.output_ids].detach().clone())

        def forward(self, states, states_mask, input_ids, targets):
            h = self.decoder(input_ids, self.decoder.memory(states), states_mask).last_hidden_state
            logp = F.log_softmax(h @ self.output.T, dim=-1)
            where = self.lookup[targets]
            picked = logp.gather(-1, where.clamp(min=0)[..., None])[..., 0]
            return torch.where(where >= 0, picked, torch.zeros_like(picked))

    return Likelihood().eval()


def export_likelihood(model_dir: str | Path, out: str | Path, int8: bool = True,
                      weight: float | None = None) -> dict[str, Any]:
    """Write the re-ranker of the docstring model in `model_dir` to the folder `out` (GRAPH,
    config.json, the model's own tokenizer.json if it has one); returns the config written.
    `weight`: its share of a candidate's final score, as tuned (default: search's RERANK_WEIGHT)."""
    import torch

    model_dir, out = Path(model_dir), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    module = likelihood_module(model_dir)
    c = module.decoder.config
    example = (torch.randn(2, 5, c.memory_size), torch.ones(2, 5, dtype=torch.long),
               torch.ones(2, 4, dtype=torch.long), torch.ones(2, 4, dtype=torch.long))
    names = ["states", "states_mask", "input_ids", "targets"]
    fp32 = out / f"fp32-{GRAPH}"
    with torch.no_grad():
        torch.onnx.export(module, example, str(fp32), input_names=names, output_names=["logp"], opset_version=17,
                          dynamo=False, dynamic_axes={**{n: {0: "batch", 1: "length"} for n in names},
                                                      "logp": {0: "batch", 1: "length"}})
    kept, correlation = "fp32", None
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(fp32, out / GRAPH, op_types_to_quantize=["MatMul", "Gather"], per_channel=True,
                         weight_type=QuantType.QInt8)
        correlation = _probe_correlation(fp32, out / GRAPH, c)
        kept = "int8" if correlation >= MIN_CORRELATION else "fp32"
    if kept == "fp32":
        fp32.replace(out / GRAPH)
    fp32.unlink(missing_ok=True)
    if (model_dir / "tokenizer.json").is_file():
        shutil.copy(model_dir / "tokenizer.json", out / "tokenizer.json")
    config = {"architecture": RERANKER_ARCH, "encoder": c.encoder, "max_source": c.max_source,
              "max_target": c.max_target, "bos_token_id": c.bos_token_id, "eos_token_id": c.eos_token_id,
              "kept": kept, "probe_correlation": correlation, **({"weight": weight} if weight is not None else {})}
    (out / "config.json").write_text(json.dumps(config, indent=1))
    return config


def _probe_correlation(fp32: Path, int8: Path, c: Any, queries: int = 16, candidates: int = 20) -> float:
    """The mean Spearman correlation, over random probe queries (token ids), between the two
    graphs' query log-likelihoods of the same candidates (random states: a harsher test than
    real ones, the lowest single query's is noise over 20 candidates)."""
    from codelm.core.export import open_session

    rng = np.random.default_rng(0)
    graphs = [open_session(p, 1) for p in (fp32, int8)]
    found = []
    for _ in range(queries):
        tokens = rng.integers(3, c.vocab_size, size=int(rng.integers(4, c.max_target)))
        feeds = {"states": rng.standard_normal((candidates, 32, c.memory_size)).astype(np.float32) * 0.5,
                 "states_mask": np.ones((candidates, 32), dtype=np.int64),
                 "input_ids": np.tile(np.r_[c.bos_token_id, tokens[:-1]], (candidates, 1)).astype(np.int64),
                 "targets": np.tile(tokens, (candidates, 1)).astype(np.int64)}
        a, b = (g.run(None, feeds)[0].sum(1) for g in graphs)
        ranks = [np.argsort(np.argsort(x)) for x in (a, b)]
        found.append(float(np.corrcoef(*ranks)[0, 1]))
    return float(np.mean(found))
