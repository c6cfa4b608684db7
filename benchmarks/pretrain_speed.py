"""Training throughput: codelm's trainer (MLM) vs transformers' RobertaForMaskedLM + Trainer.

Same model shape, same batch (batch x length tokens, every token real, 15% masked), fp32,
same thread count, one run each after one warm-up step. Ours computes vocabulary logits only
at masked positions (as the objective needs); transformers' model computes them everywhere. Prints one JSON object: tokens/s of
both and their ratio (ours / transformers). `--small` uses the tiny preset and fewer steps.

    python benchmarks/pretrain_speed.py [--small] [--steps N] [--threads T]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _examples(n: int, length: int, vocab: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    nl = length // 4
    return [{"nl": [rng.randrange(100, vocab) for _ in range(nl)],
             "code": [rng.randrange(100, vocab) for _ in range(length - nl - 3)]} for _ in range(n)]


def ours(config, tok, examples, batch: int, steps: int, length: int, threads: int) -> float:
    from codelm.core.model import CodeLM
    from codelm.objectives import get_objective
    from codelm.train import TrainConfig, train

    obj = get_objective("mlm", tokenizer=tok, max_length=length)
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(max_steps=steps + 1, warmup_steps=1, batch_size=batch, eval_every=10**9,
                          save_every=10**9, log_every=1, out_dir=out, progress=False, threads=threads,
                          precision="fp32")
        train(CodeLM(config), obj, examples, None, cfg)
        records = [json.loads(line) for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]
    seconds = sum(batch * length / r["tokens_per_s"] for r in records[1:])  # first step = warm-up
    return steps * batch * length / seconds


def transformers_trainer(config, tok, examples, batch: int, steps: int, length: int, threads: int) -> float:
    import torch
    from transformers import RobertaForMaskedLM, Trainer, TrainerCallback, TrainingArguments

    from codelm.objectives.data import build_inputs
    from codelm.objectives.mlm import mask_tokens

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    low = max(tok.special_ids.values()) + 1

    def collate(rows):
        b = build_inputs(rows, tok.cls_id, tok.sep_id, tok.eos_id, tok.pad_id, length)
        ids, labels = mask_tokens(b["input_ids"], b["segment"] > 0, tok.mask_id, low, tok.vocab_size, g)
        return {"input_ids": ids, "attention_mask": b["attention_mask"], "labels": labels}

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            times.append(time.perf_counter())

        def on_step_end(self, *a, **k):
            times[-1] = time.perf_counter() - times[-1]

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, max_steps=steps + 1, per_device_train_batch_size=batch,
                                 learning_rate=5e-4, warmup_steps=1, save_strategy="no", report_to=[],
                                 logging_strategy="no", use_cpu=True, dataloader_num_workers=0,
                                 disable_tqdm=True, remove_unused_columns=False)
        model = RobertaForMaskedLM(config.to_hf())
        with contextlib.redirect_stdout(sys.stderr):  # Trainer prints its summary on stdout
            Trainer(model=model, args=args, train_dataset=examples, data_collator=collate,
                    callbacks=[Clock()]).train()
    return steps * batch * length / sum(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="tiny model, few steps")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from codelm.core.config import ModelConfig
    from codelm.core.tokenizer import default_tokenizer

    tok = default_tokenizer()
    preset, batch, length = ("tiny", 8, 128) if args.small else ("small", 8, 256)
    steps = args.steps or (10 if args.small else 8)
    config = ModelConfig.preset(preset, vocab_size=tok.vocab_size, pad_token_id=tok.pad_id,
                                max_position_embeddings=length + 2)
    examples = _examples(batch * (steps + 1), length, tok.vocab_size)
    hf = transformers_trainer(config, tok, examples, batch, steps, length, args.threads)
    us = ours(config, tok, examples, batch, steps, length, args.threads)
    print(json.dumps({"preset": preset, "batch": batch, "length": length, "steps": steps,
                      "threads": args.threads, "codelm_tokens_per_s": round(us, 1),
                      "transformers_tokens_per_s": round(hf, 1), "ratio": round(us / hf, 3)}))


if __name__ == "__main__":
    main()
