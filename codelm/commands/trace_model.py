"""CodeExecutor-style trace prediction: train, predict, evaluate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from codelm.commands import add_time_budget, time_limit
from codelm.errors import UsageError

TRAIN_HELP = """Trains a trace-prediction model (CodeExecutor's objective: source prefix, weighted
cross-entropy on the trace text) with a curriculum over the datasets of `codelm dataset trace`:
--data DIR holds DIR/singleline, DIR/tutorial, DIR/codenet (or DIR is the one dataset of a single
stage). Stage k trains --max-steps steps on the first k datasets mixed by --mix. Settings are
key=value: ModelConfig/TrainConfig fields (lr, batch_size, hidden_size...) and the loss's
structure_weight, value_weight, source_share."""


def register(commands) -> None:
    """Add `train trace`, `predict trace` (alias `predict-trace`) and `eval trace`."""
    p = commands.add("train trace", "train a trace-prediction model",
                     "codelm train trace --data data --stages singleline --out runs/trace", run_train,
                     description=TRAIN_HELP)
    p.add_argument("--data", required=True, help="directory of the stage datasets")
    p.add_argument("--out", required=True, help="run directory (checkpoints per stage, final model)")
    p.add_argument("--stages", default="singleline", help="comma-separated datasets, easiest first")
    p.add_argument("--mix", help="comma-separated weights, one per stage (default: equal)")
    p.add_argument("--config", default="tiny", help="tiny, small, base, a ModelConfig JSON file, or a checkpoint dir")
    p.add_argument("--max-steps", type=int, help="optimizer steps per stage (default: TrainConfig's)")
    p.add_argument("--max-length", type=int, default=512, help="block length (source + trace) in tokens")
    add_time_budget(p)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="model, training and loss settings")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = commands.add("predict trace", "predict a program's execution trace with a model",
                     "codelm predict trace prog.py --model runs/trace", run_predict, aliases=("predict-trace",))
    p.add_argument("file", help="Python program")
    p.add_argument("--model", required=True, help="trained model directory (from `codelm train trace`)")
    p.add_argument("--stdin", default="", help="the program's standard input")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", action="store_true", help="print {path, trace_text, steps, decoding} as JSON")
    p = commands.add("eval trace", "evaluate a trace model with the CodeExecutor metrics",
                     "codelm eval trace --data data/single --model runs/trace", run_eval)
    p.add_argument("--data", required=True, help="dataset directory (or a directory of stage datasets)")
    p.add_argument("--model", required=True, help="trained model directory")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--stages", help="comma-separated stage datasets under --data (default: the model's)")
    p.add_argument("--limit", type=int, help="at most this many programs per stage")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default; 1 is fastest on a busy machine)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _threads(n: int) -> None:
    if n > 0:
        import torch

        torch.set_num_threads(n)


def run_train(args: argparse.Namespace) -> int:
    from codelm.recipes.trace import train_trace

    try:
        mix = [float(w) for w in _names(args.mix)] if args.mix else None
    except ValueError:
        raise UsageError(f"--mix {args.mix!r}: give comma-separated numbers, e.g. 0.34,0.33,0.33") from None
    summary = train_trace(args.data, args.out, _names(args.stages), mix, args.config, args.max_steps,
                          args.overrides, args.max_length, time_limit(args))
    if args.json:
        print(json.dumps(summary))
    else:
        for s in summary["stages"]:
            print(f"stage {s['stage']} ({'+'.join(s['datasets'])}): {s['step']} steps, train loss "
                  f"{s['train_loss']:.4f}, valid {json.dumps(s['valid'])}")
        print(f"model in {summary['out_dir']}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from codelm.tasks.trace.predict import load_trace_model, predict_traces
    from tracer.format import parse_codeexecutor

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    source = path.read_text(encoding="utf-8", errors="replace")
    _threads(args.threads)
    model, tok, settings = load_trace_model(args.model)
    (text,), speed = predict_traces(model, tok, [(source, args.stdin)], settings["max_length"],
                                    settings.get("source_share", 0.25))
    steps = [{"line": s.line, "state": s.state, "output": s.output} for s in parse_codeexecutor(text)]
    if args.json:
        print(json.dumps({"path": str(path), "trace_text": text, "steps": steps, "decoding": speed}))
    else:
        print(text)
        print(json.dumps(steps, indent=1))
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from codelm.tasks.trace.evaluate import eval_trace

    _threads(args.threads)
    result = eval_trace(args.data, args.model, args.split, _names(args.stages) if args.stages else None, args.limit)
    if args.json:
        print(json.dumps(result))
        return 0
    keys = list(result["all"])
    print(f"{'stage':<12} {'n':>5} " + " ".join(f"{k:>14}" for k in keys))
    for name, m in [*result["by_stage"].items(), ("all", {"examples": result["examples"], **result["all"]})]:
        print(f"{name:<12} {m['examples']:>5} " + " ".join(f"{m[k]:>14.2f}" for k in keys))
    d = result["decoding"]
    print(f"decoding: {d['trace_tokens']} trace tokens in {d['seconds']} s ({d['tokens_per_s']} tokens/s, cache on)")
    return 0
