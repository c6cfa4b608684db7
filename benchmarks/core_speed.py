"""Speed of the codelm core against transformers, in the same run; prints one JSON object.

train: tokens/s of a masked-LM training step (forward + backward + AdamW) of CodeLM and of
       transformers' RobertaForMaskedLM with the same config (6 layers, 384 wide, batch 8 x 256).
       The core projects to the vocabulary only at masked positions (as its MLM objective does);
       `core_all_logits` projects every position as transformers does, for a like-for-like figure.
decode: greedy decoding of 256 new tokens after a 64-token prompt, with the key/value cache
        against without it (batch 1; both pay the same vocabulary projection per token); on CPU
        also with one thread, as thread barriers dominate one-token steps on a shared machine.
Usage: python benchmarks/core_speed.py [--small] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codelm.core.config import ModelConfig  # noqa: E402
from codelm.core.generate import greedy  # noqa: E402
from codelm.core.model import CodeLM  # noqa: E402


def sync(device: str) -> None:
    """Wait for queued GPU work so that wall-clock times are real."""
    if device == "cuda":
        torch.cuda.synchronize()


def mlm_batch(config: ModelConfig, batch: int, length: int, device: str, seed: int = 0):
    """Random tokens, 15% of them replaced by a mask id, labels -100 elsewhere."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, config.vocab_size, (batch, length), generator=g)
    chosen = torch.rand(batch, length, generator=g) < 0.15
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    ids = torch.where(chosen, torch.full_like(ids, 4), ids)
    return ids.to(device), labels.to(device)


def core_step(model: CodeLM, ids, labels, all_logits: bool) -> torch.Tensor:
    """MLM loss of the core: logits at masked positions only, or at all (like transformers)."""
    h = model(ids).last_hidden_state
    if all_logits:
        return F.cross_entropy(model.mlm_logits(h).flatten(0, 1), labels.flatten())
    chosen = labels != -100
    return F.cross_entropy(model.mlm_logits(h[chosen]), labels[chosen])


def hf_step(model, ids, labels) -> torch.Tensor:
    """MLM loss of transformers' RobertaForMaskedLM (logits at every position)."""
    return model(input_ids=ids, labels=labels).loss


def bench_train(config: ModelConfig, batch: int, length: int, steps: int, device: str) -> dict:
    """tokens/s per contestant (median step); steps alternate between contestants so load noise hits all alike."""
    from transformers import RobertaForMaskedLM

    torch.manual_seed(0)
    core = CodeLM(config).to(device).train()
    hf = RobertaForMaskedLM(config.to_hf()).to(device).train()
    contestants = {
        "core": (core, lambda ids, lab: core_step(core, ids, lab, all_logits=False)),
        "core_all_logits": (core, lambda ids, lab: core_step(core, ids, lab, all_logits=True)),
        "transformers": (hf, lambda ids, lab: hf_step(hf, ids, lab)),
    }
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-4) for name, (m, _) in contestants.items()}
    seconds = {name: [] for name in contestants}
    ids, labels = mlm_batch(config, batch, length, device)
    for step in range(steps + 1):  # step 0 warms up
        for name, (_, loss_fn) in contestants.items():
            sync(device)
            start = time.perf_counter()
            loss = loss_fn(ids, labels)
            loss.backward()
            optimizers[name].step()
            optimizers[name].zero_grad(set_to_none=True)
            sync(device)
            if step:
                seconds[name].append(time.perf_counter() - start)
    median = {name: statistics.median(s) for name, s in seconds.items()}  # robust to load spikes
    result = {f"{name}_tokens_per_s": round(batch * length / s, 1) for name, s in median.items()}
    result["ratio_core_vs_transformers"] = round(median["transformers"] / median["core"], 3)
    result["ratio_core_all_logits_vs_transformers"] = round(median["transformers"] / median["core_all_logits"], 3)
    return result


def bench_decode(config: ModelConfig, prompt_length: int, new_tokens: int, device: str) -> dict:
    """Seconds for greedy decoding with and without the cache; the tokens must agree."""
    torch.manual_seed(0)
    model = CodeLM(config).to(device).eval()
    prompt = torch.randint(3, config.vocab_size, (1, prompt_length), generator=torch.Generator().manual_seed(1))
    prompt = prompt.to(device)
    greedy(model, prompt, 4)  # warm-up
    times, outputs = {}, {}
    for use_cache in (True, False):
        sync(device)
        start = time.perf_counter()
        outputs[use_cache] = greedy(model, prompt, new_tokens, use_cache=use_cache)
        sync(device)
        times[use_cache] = time.perf_counter() - start
    return {"new_tokens": new_tokens, "prompt_length": prompt_length,
            "cached_tokens_per_s": round(new_tokens / times[True], 1),
            "uncached_tokens_per_s": round(new_tokens / times[False], 1),
            "ratio_cache_vs_no_cache": round(times[False] / times[True], 2),
            "same_tokens": bool(torch.equal(outputs[True], outputs[False]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run with small shapes")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--prompt-length", type=int, default=64, help="prompt tokens before decoding")
    parser.add_argument("--vocab-size", type=int, default=50265, help="RoBERTa's vocabulary size by default")
    args = parser.parse_args()
    config = ModelConfig.preset("small", vocab_size=args.vocab_size)  # 6 layers, 384 wide, 6 heads
    if args.small:
        batch, length, steps, new_tokens = 2, 64, 3, 32
    else:
        batch, length, steps, new_tokens = 8, 256, 5, 256
    result = {"device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
              "config": {"layers": config.num_layers, "hidden": config.hidden_size, "heads": config.num_heads,
                         "vocab": config.vocab_size},
              "train": {"batch": batch, "length": length, "steps": steps,
                        **bench_train(config, batch, length, steps, args.device)},
              "decode": bench_decode(config, args.prompt_length, new_tokens, args.device)}
    if args.device == "cpu" and torch.get_num_threads() > 1:
        # one-token steps are tiny: on a shared CPU, thread barriers can dominate them
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        result["decode_1_thread"] = bench_decode(config, args.prompt_length, new_tokens, args.device)
        torch.set_num_threads(threads)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
