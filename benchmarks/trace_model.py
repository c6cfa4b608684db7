"""Trace model on SingleLine: a trained model against two baselines, in the same run.

    python benchmarks/trace_model.py [--small | --gpu] [--data DIR] [--out DIR]

Builds a SingleLine set (`tracer.datasets.build`, unless --data names one), trains a model
with `codelm.recipes.trace.train_trace` for a fixed number of steps, then scores on held-out
test programs (the same programs, the same decoding cap for every predictor):
  - the trained model (greedy, cache on);
  - the untrained model (same config and seed, no training);
  - the shape baseline (`codelm.tasks.trace.baselines`: most frequent trace shape, copied literals).
Metrics: the CodeExecutor metrics (`tracer.metrics.score_traces`) plus `final_state_acc`
(the last step's state equals the gold one: SingleLine programs print nothing, so the
metrics' output accuracy is trivially 100 there and the final state is the "output").
Decoding speed: trace tokens/s of the trained model with and without the KV cache.
Sizes: default (CPU, about 15 min on 2 loaded cores), --small (a smoke run), --gpu (a
`small`-preset model, more data and steps; for a GPU machine). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {  # programs, steps, batch, lr, config, model overrides, test programs, threads
    "small": (300, 30, 8, 1e-3, "tiny", [], 20, 1),
    "cpu": (3000, 450, 16, 1e-3, "tiny", ["num_layers=4", "hidden_size=128", "num_heads=4",
                                          "intermediate_size=512"], 150, 1),
    "gpu": (20000, 4000, 64, 5e-4, "small", [], 1000, 0),
}


def final_state_acc(golds: list[str], preds: list[str]) -> float:
    """Share (%) of traces whose last complete step has the gold last step's line and state."""
    from tracer.metrics import sentences
    from tracer.format import parse_codeexecutor

    def last(text: str):
        lines = [s for s in sentences(parse_codeexecutor(text)) if s[0] == "line"]
        return lines[-1] if lines else None

    same = sum(last(g) == last(p) for g, p in zip(golds, preds))
    return round(100 * same / max(len(golds), 1), 2)


def scores(golds: list[str], preds: list[str]) -> dict:
    from tracer.metrics import score_traces

    return {**score_traces(golds, preds), "final_state_acc": final_state_acc(golds, preds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--small", action="store_true", help="a quick smoke run")
    size.add_argument("--gpu", action="store_true", help="the recipe sized for a GPU")
    parser.add_argument("--data", help="an existing SingleLine dataset directory (else one is built)")
    parser.add_argument("--out", default="runs/bench_trace", help="work directory")
    parser.add_argument("--steps", type=int, help="training steps (default: the size's)")
    parser.add_argument("--test", type=int, help="held-out programs scored (default: the size's)")
    args = parser.parse_args()
    name = "small" if args.small else "gpu" if args.gpu else "cpu"
    programs, steps, batch, lr, config, model_kw, n_test, threads = SIZES[name]
    steps, n_test = args.steps or steps, args.test or n_test

    import torch

    from codelm.tasks.trace.prompt import encode_records
    from codelm.recipes.pretrain import build_model, split_overrides
    from codelm.tasks.trace.baselines import ShapeBaseline
    from codelm.recipes.trace import train_trace
    from codelm.tasks.trace.predict import load_trace_model, predict_traces
    from tracer.datasets import build, read_split

    if threads:
        torch.set_num_threads(threads)
    out = Path(args.out)
    data = Path(args.data) if args.data else out / "singleline"
    t0 = time.perf_counter()
    if not args.data:
        build("singleline", data, limit=programs, workers=2, progress=False)
    build_s = time.perf_counter() - t0
    train_records = list(read_split(data, "train"))
    test = list(read_split(data, "test"))[:n_test]
    overrides = [*model_kw, f"batch_size={batch}", f"lr={lr}", "warmup_steps=50", f"threads={threads}",
                 "eval_every=100000", f"save_every={steps}", "eval_batches=5", "progress=false"]
    t0 = time.perf_counter()
    summary = train_trace(data, out / "run", ["singleline"], None, config, steps, overrides, max_length=256)
    train_s = time.perf_counter() - t0

    model, tok, settings = load_trace_model(out / "run")
    golds = [r["trace_text"] for r in test]
    programs_in = [(r["source"], r.get("input") or "") for r in test]
    cap = max(len(t["target"]) for t in encode_records(tok, test)) + 8  # same cap for every model
    trained, speed = predict_traces(model, tok, programs_in, settings["max_length"], max_new_tokens=cap)
    torch.manual_seed(0)
    device = next(model.parameters()).device
    untrained_model = build_model(config, tok, split_overrides(model_kw)[0]).eval().to(device)
    untrained, _ = predict_traces(untrained_model, tok, programs_in, settings["max_length"], max_new_tokens=cap)
    shape = ShapeBaseline().fit(train_records)
    baseline = [shape.predict(r["source"]) for r in test]
    subset = programs_in[:20]
    _, cached = predict_traces(model, tok, subset, settings["max_length"], batch_size=1, max_new_tokens=cap)
    _, uncached = predict_traces(model, tok, subset, settings["max_length"], batch_size=1, use_cache=False,
                                 max_new_tokens=cap)
    result = {
        "size": name, "device": str(next(model.parameters()).device), "programs_built": programs,
        "train_examples": len(train_records), "test_examples": len(test), "steps": steps, "batch_size": batch,
        "model": {"config": config, "overrides": model_kw,
                  "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2)},
        "build_s": round(build_s, 1), "train_s": round(train_s, 1),
        "final_train_loss": summary["stages"][-1]["train_loss"], "valid": summary["stages"][-1]["valid"],
        "trained": scores(golds, trained), "untrained": scores(golds, untrained),
        "shape_baseline": scores(golds, baseline),
        "decoding": {"batched_cache": speed, "cache_batch1": cached, "no_cache_batch1": uncached,
                     "cache_speedup": round(cached["tokens_per_s"] / max(uncached["tokens_per_s"], 1e-9), 2)},
        "examples": [{"source": test[i]["source"], "gold": golds[i], "trained": trained[i]} for i in range(3)],
    }
    ratio = lambda a, b: round(a / b, 2) if b else None  # None: the baseline scored 0
    result["ratios"] = {k: {"vs_shape": ratio(result["trained"][k], result["shape_baseline"][k]),
                            "vs_untrained": ratio(result["trained"][k], result["untrained"][k])}
                        for k in ("trace_acc", "final_state_acc", "line_f1", "id_f1")}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
