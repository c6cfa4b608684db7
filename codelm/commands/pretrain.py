"""Corpus building and CodeBERT-style pretraining."""

from __future__ import annotations

import argparse
import json

from codelm.commands import add_time_budget, time_limit

PRETRAIN_HELP = """Pretrains a code encoder on a corpus made by `codelm corpus`. Objectives: mlm
(CodeBERT masked LM on bimodal NL-code pairs), rtd (replaced-token detection with bigram NL and
code generators, bimodal and unimodal data), or mlm+rtd. Settings of the model (ModelConfig) and
of training (TrainConfig: lr, warmup_steps, batch_size, grad_accum, precision, eval_every,
save_every, ...) are given as key=value. Writes checkpoints (transformers layout + trainer state),
metrics.jsonl, the tokenizer and the final model to --out. Several processes: torchrun
--nproc_per_node N -m codelm pretrain ..."""


def register(commands) -> None:
    """Add `corpus` and `pretrain`."""
    p = commands.add("corpus", "build an NL-code pair corpus from source trees",
                     "codelm corpus /usr/lib/python3.11 --out corpus", run_corpus)
    p.add_argument("paths", nargs="+", metavar="PATH", help="source trees")
    p.add_argument("--out", required=True, help="output directory (JSONL shards + manifest.json)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/valid split by file")
    p.add_argument("--valid-share", type=float, default=0.05, help="share of files in the valid split")
    p.add_argument("--min-docstring-words", type=int, default=3, help="shortest docstring kept as a pair")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                   help="gitignore-style pattern left out of every tree (repeatable), e.g. _vendor/")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = commands.add("pretrain", "pretrain a code encoder (mlm, rtd)",
                     "codelm pretrain --objective mlm+rtd --config tiny --data corpus --out runs/pre",
                     run_pretrain, description=PRETRAIN_HELP)
    p.add_argument("--objective", default="mlm+rtd", help="mlm, rtd or mlm+rtd")
    p.add_argument("--config", default="tiny", help="tiny, small, base, a ModelConfig JSON file, or a checkpoint dir")
    p.add_argument("--data", required=True, help="corpus directory from `codelm corpus`")
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--max-steps", type=int, help="optimizer steps (default: TrainConfig's)")
    p.add_argument("--max-length", type=int, default=256, help="longest input in tokens")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    p.add_argument("--tokenizer", help="tokenizer directory (default: the shipped code tokenizer)")
    add_time_budget(p)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="ModelConfig/TrainConfig fields")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run_corpus(args: argparse.Namespace) -> int:
    from indexers.corpus import build_corpus

    report = build_corpus(args.paths, args.out, seed=args.seed, valid_share=args.valid_share,
                          min_docstring_words=args.min_docstring_words, exclude=args.exclude)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"{report.bimodal} bimodal and {report.unimodal} unimodal functions from {report.files} files "
              f"({report.train} train, {report.valid} valid, {report.duplicates} duplicates dropped) in {report.out}")
    return 0


def run_pretrain(args: argparse.Namespace) -> int:
    from codelm.recipes.pretrain import pretrain

    result = pretrain(args.objective, args.config, args.data, args.out, args.overrides, args.max_steps,
                      args.resume, args.tokenizer, args.max_length, time_limit(args))
    if args.json:
        print(json.dumps(result))
    else:
        print(f"trained {result['step']} steps; train loss {result['train_loss']:.4f}; "
              f"valid {json.dumps(result['valid'])}; model in {result['out_dir']}")
    return 0
