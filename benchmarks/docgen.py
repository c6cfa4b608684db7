"""Docstring generation: quality against the two baselines on held-out packages, and speed.

Quality: the standard library's functions are split BY PACKAGE (held-out packages never in
training); smoothed BLEU-4 / ROUGE-L / exact match of the template baseline, the BM25
retrieval baseline and, with --model (or --train-steps N: train one here first), the model.
Also per system: the percent of outputs that start with a capital letter and the percent of
distinct outputs, and the first 10 held-out functions' outputs next to their references.
Speed: docstrings per second at batch 1 and batch 32, with and without the key/value cache
(an untrained model of --config's size when no model is given; every docstring is then
max-tokens long, which is the worst case); for a frozen-encoder model (the shipped one):
warm latency of one function (p50, p90; encoder and beam search) and docstrings per second of
a `--pairs` batch, in process and through the command. Prints one JSON object.

    python benchmarks/docgen.py [--small] [--model DIR [--train-corpus DIR]] [--train-steps N] [--out DIR]
    python benchmarks/docgen.py --model codelm/data/docstring --train-corpus TRAINSET --limit 0
"""

from __future__ import annotations

import argparse
import json
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HELD_OUT = ("json", "http", "email", "xml", "urllib", "sqlite3", "zipfile", "tomllib")
SMALL_ROOTS = ("json", "email", "http", "logging", "importlib", "concurrent")


def package_split_corpus(stdlib: Path, roots: list[Path], out: Path, held_out=HELD_OUT,
                         train_corpus: Path | None = None) -> dict:
    """A corpus whose valid split holds the functions of the held-out packages only; its train
    split is the rest, or the train split of `train_corpus` (what the model was trained on, so
    that the retrieval baseline searches the same functions) minus any held-out package."""
    from indexers.corpus import build_corpus, read_corpus

    build_corpus(roots, out / "all", valid_share=0.0, progress=False)
    records = read_corpus(out / "all", "train") + read_corpus(out / "all", "valid")

    def package(record: dict) -> str:  # path: the root's folder name, then the path inside it
        parts = Path(record["path"]).parts
        return (parts[1] if parts[0] == stdlib.name and len(parts) > 1 else parts[0]).removesuffix(".py")

    train = read_corpus(train_corpus, "train") if train_corpus else records
    splits = {"train": [r for r in train if package(r) not in held_out],
              "valid": [r for r in records if package(r) in held_out]}
    for split, rows in splits.items():
        (out / f"{split}-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "manifest.json").write_text(json.dumps({"schema": 1, "shards": {s: [f"{s}-00000.jsonl"] for s in splits}}))
    return {s: sum(1 for r in rows if r["nl"]) for s, rows in splits.items()}


def speed(model, tok, codes: list[str], beams: int, max_tokens: int) -> dict:
    from codelm.tasks.docstring.infer import generate_docstrings

    out = {}
    generate_docstrings(model, tok, codes[:2], num_beams=beams, max_new_tokens=2)  # warm-up
    for batch in (1, 32):
        for cache in (True, False):
            n = min(len(codes), 4 if batch == 1 else 32)
            began = time.perf_counter()
            generate_docstrings(model, tok, codes[:n], num_beams=beams, max_new_tokens=max_tokens,
                                batch_size=batch, use_cache=cache)
            out[f"batch{batch}_{'cache' if cache else 'nocache'}"] = round(n / (time.perf_counter() - began), 3)
    for batch in (1, 32):
        out[f"batch{batch}_cache_speedup"] = round(out[f"batch{batch}_cache"] / out[f"batch{batch}_nocache"], 2)
    return out


def style(texts: list[str]) -> dict:
    """Percent of texts starting with a capital letter, and percent of distinct texts."""
    n = max(len(texts), 1)
    return {"capitalised": round(100 * sum(t[:1].isupper() for t in texts) / n, 2),
            "distinct": round(100 * len(set(texts)) / n, 2)}


def frozen_speed(writer, codes: list[str], beams: int, max_tokens: int, pairs: int = 200) -> dict:
    """Warm one-function latency (ms) and `--pairs` throughput of a frozen-encoder model."""
    import statistics
    import subprocess
    import tempfile

    from codelm.tasks.docstring.infer import generate_docstrings

    generate_docstrings(writer, None, codes[:2], num_beams=beams, max_new_tokens=max_tokens)  # warm-up, loads
    times = []
    for code in codes[:30]:
        began = time.perf_counter()
        generate_docstrings(writer, None, [code], num_beams=beams, max_new_tokens=max_tokens)
        times.append(1000 * (time.perf_counter() - began))
    batch = (codes * (pairs // max(len(codes), 1) + 1))[:pairs]
    began = time.perf_counter()
    generate_docstrings(writer, None, batch, num_beams=beams, max_new_tokens=max_tokens)
    in_process = len(batch) / (time.perf_counter() - began)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write("".join(json.dumps({"id": i, "code": c}) + "\n" for i, c in enumerate(batch)))
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "codelm", "docstring", "--pairs", handle.name, "--model",
                    str(writer.directory), "--beams", str(beams), "--max-tokens", str(max_tokens)],
                   check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])
    command = len(batch) / (time.perf_counter() - began)
    return {"one_function_ms_p50": round(statistics.median(times), 1),
            "one_function_ms_p90": round(sorted(times)[int(0.9 * len(times))], 1),
            "pairs_docstrings_per_s_in_process": round(in_process, 2),
            "pairs_docstrings_per_s_command": round(command, 2), "pairs": len(batch),
            "threads": __import__("torch").get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a few packages, tiny model, short runs")
    parser.add_argument("--model", help="docstring model directory")
    parser.add_argument("--train-corpus", type=Path, help="the corpus --model was trained on (default: the "
                        "standard library minus the held-out packages); the retrieval baseline searches it")
    parser.add_argument("--train-steps", type=int, default=0, help="train a model here first (0: none)")
    parser.add_argument("--init", default="minilm", help="warm start of --train-steps")
    parser.add_argument("--config", default="small", help="size of the untrained model timed without --model")
    parser.add_argument("--limit", type=int, default=500, help="held-out functions scored (0: all)")
    parser.add_argument("--beams", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared machine)")
    parser.add_argument("--out", default="runs/docgen_bench")
    parser.add_argument("overrides", nargs="*", help="key=value settings for training")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from codelm.tasks.docstring.evaluate import evaluate
    from codelm.tasks.docstring.infer import load_model
    from codelm.recipes.docstring import train_docstring
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM
    from codelm.core.tokenizer import default_tokenizer
    from indexers.corpus import read_corpus

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    roots = [stdlib / p for p in SMALL_ROOTS] if args.small else [stdlib]
    out = Path(args.out)
    counts = package_split_corpus(stdlib, roots, out / "corpus", train_corpus=args.train_corpus)
    model_dir = args.model
    if args.train_steps:
        train_docstring(out / "corpus", out / "model", args.init, max_steps=args.train_steps,
                        overrides=["progress=false", *args.overrides])
        model_dir = out / "model"
    limit = 40 if args.small else args.limit or None
    quality = evaluate(out / "corpus", model_dir, limit=limit, with_model=model_dir is not None,
                       num_beams=args.beams, outputs=True)
    outputs = quality.pop("outputs")
    systems = [s for s in ("model", "template", "retrieval") if s in outputs]
    quality["style"] = {s: style(outputs[s]) for s in systems}
    quality["first_10"] = [{"name": outputs["name"][i], "reference": outputs["reference"][i],
                            **{s: outputs[s][i] for s in systems}} for i in range(min(10, quality["count"]))]
    result = {"corpus": counts, "held_out": HELD_OUT, "quality": quality}
    max_tokens = 16 if args.small else 32
    if model_dir is not None:
        model, tok = load_model(model_dir)
        from codelm.tasks.docstring.writer import DocstringWriter

        if isinstance(model, DocstringWriter):
            codes = [r["code"] for r in read_corpus(out / "corpus", "valid") if r["nl"]][:32]
            result["speed"] = {"device": "cpu", "beams": args.beams, "max_new_tokens": max_tokens,
                               **frozen_speed(model, codes, args.beams, max_tokens)}
            print(json.dumps(result))
            return
    else:
        tok = default_tokenizer()
        torch.manual_seed(0)
        model = CodeLM(ModelConfig.preset("tiny" if args.small else args.config, vocab_size=tok.vocab_size,
                                          pad_token_id=tok.pad_id)).eval()
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    codes = [r["code"] for r in read_corpus(out / "corpus", "valid") if r["nl"]][:32]
    result["speed"] = {"device": str(next(model.parameters()).device), "beams": args.beams,
                       "max_new_tokens": max_tokens, "trained": model_dir is not None,
                       **speed(model, tok, codes, args.beams, max_tokens)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
