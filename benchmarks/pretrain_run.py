"""A short real pretraining run (mlm+rtd) on the standard library's corpus.

Builds the corpus with `build_corpus`, pretrains with `codelm.recipes.pretrain.pretrain`, plots the
training loss curve (PNG) and prints one JSON object: valid MLM and RTD accuracy (and losses)
at step 0 against the last step. `--small` uses a few stdlib packages and 60 steps.

    python benchmarks/pretrain_run.py [--small] [--steps N] [--config tiny] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def plot(metrics: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in metrics if r["split"] == "train"]
    valid = [r for r in metrics if r["split"] == "valid"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["step"] for r in train], [r["loss"] for r in train], label="train loss (mlm+rtd)")
    ax.plot([r["step"] for r in valid], [r["loss"] for r in valid], "o-", label="valid loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--out", default="runs/pretrain_run")
    parser.add_argument("--corpus", help="an existing `codelm corpus` directory (default: build one)")
    parser.add_argument("overrides", nargs="*", help="key=value settings for pretrain")
    args = parser.parse_args()
    from codelm.recipes.pretrain import pretrain
    from indexers.corpus import build_corpus

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    roots = [stdlib / p for p in ("json", "email", "http", "logging")] if args.small else [stdlib]
    steps = args.steps or (60 if args.small else 3000)
    out = Path(args.out)
    if args.corpus:
        counts = json.loads((Path(args.corpus) / "manifest.json").read_text())["counts"]
        corpus_dir = Path(args.corpus)
    else:
        counts = build_corpus(roots, out / "corpus", seed=0, valid_share=0.05).to_json()
        corpus_dir = out / "corpus"
    settings = [f"eval_every={max(1, steps // 10)}", f"save_every={steps}", "warmup_steps=" + str(max(1, steps // 20)),
                "batch_size=16", "log_every=" + str(max(1, steps // 50)), "eval_batches=20", *args.overrides]
    result = pretrain("mlm+rtd", args.config, corpus_dir, out / "run", settings, max_steps=steps,
                      max_length=256 if not args.small else 128)
    metrics = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()]
    plot(metrics, out / "loss.png")
    valid = [r for r in metrics if r["split"] == "valid"]
    keys = ("mlm_acc", "rtd_acc", "mlm_loss", "rtd_loss")
    print(json.dumps({"corpus": {k: counts.get(k) for k in ("bimodal", "unimodal", "train", "valid")},
                      "steps": result["step"], "seconds": round(result["seconds"], 1),
                      "step0": {k: valid[0][k] for k in keys}, "last": {k: valid[-1][k] for k in keys},
                      "plot": str(out / "loss.png")}))


if __name__ == "__main__":
    main()
