"""One trainer for every objective: `train(model, objective, train_data, valid_data, cfg)`.

An objective is any object with `collate(examples, generator) -> batch` and
`__call__(model, batch) -> (loss, metrics)` (see `codelm.objectives`); metrics may carry
"tokens" (the batch's real tokens, for tokens/s). The building blocks, and how data order,
randomness and data parallelism are made deterministic, are in `codelm.training`.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Sequence

import torch

from codelm.training import (STATE_FILE, Batches, TrainConfig, _autocast_dtype, _device, _distributed,
                             _optimizer, latest_checkpoint, lr_factor, save_checkpoint, set_rng_state,
                             step_generator, to_device)

__all__ = ["TrainConfig", "train", "evaluate"]


def _all_reduce_grads(model: torch.nn.Module, world: int) -> None:
    """Average gradients over processes with one flattened all-reduce."""
    import torch.distributed as dist

    params = [p for p in model.parameters() if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n


def _broadcast_params(model: torch.nn.Module) -> None:
    import torch.distributed as dist

    for t in list(model.parameters()) + list(model.buffers()):
        dist.broadcast(t.data, src=0)


@torch.no_grad()
def evaluate(model: torch.nn.Module, objective: Any, data: Sequence, cfg: TrainConfig,
             device: torch.device | None = None, rank: int = 0, world: int = 1) -> dict[str, float]:
    """Mean metrics over (at most cfg.eval_batches) batches of `data`; same masks every call."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict[str, float] = defaultdict(float)
    n = 0
    dtype = _autocast_dtype(cfg.precision, device)
    mine = list(data)[rank::world]
    for b in range(min(cfg.eval_batches, -(-len(mine) // cfg.batch_size))):
        examples = mine[b * cfg.batch_size:(b + 1) * cfg.batch_size]
        batch = to_device(objective.collate(examples, step_generator(cfg.seed, -1, b, rank)), device)
        with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
            loss, metrics = objective(model, batch)
        sums["loss"] += float(loss)
        for k, v in metrics.items():
            sums[k] += float(v)
        n += 1
    model.train(was_training)
    return {k: v / max(n, 1) for k, v in sums.items() if k != "tokens"}


def _log(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


def train(model: torch.nn.Module, objective: Any, train_data: Sequence, valid_data: Sequence | None,
          cfg: TrainConfig, resume: bool = False) -> dict[str, Any]:
    """Train `model` on `objective` for cfg.max_steps optimizer steps; returns a summary dict.

    With resume, continues from the newest checkpoint in cfg.out_dir (weights, optimizer,
    scheduler, RNG, data position). Writes checkpoints, metrics.jsonl and the final model
    (transformers layout) in cfg.out_dir, from rank 0 only.
    """
    from tqdm import tqdm

    from codelm.checkpoint import load_pretrained, save_pretrained

    rank, world = _distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    end = min(cfg.stop_at or cfg.max_steps, cfg.max_steps)
    device = _device()
    torch.manual_seed(cfg.seed + rank)
    out = Path(cfg.out_dir)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    model.to(device).train()
    optimizer = _optimizer(model, cfg)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, cfg))
    dtype = _autocast_dtype(cfg.precision, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    step = 0
    ckpt = latest_checkpoint(out) if resume else None
    if ckpt is not None:
        model.load_state_dict(load_pretrained(ckpt).state_dict())
        state = torch.load(ckpt / STATE_FILE, map_location="cpu", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        step = state["step"]
    if world > 1:
        _broadcast_params(model)
    batches = Batches(train_data, cfg.batch_size, cfg.seed, rank, world)
    metrics_path = out / "metrics.jsonl"
    bar = tqdm(total=end, initial=step, file=sys.stderr, dynamic_ncols=True,
               disable=not cfg.progress or rank != 0, desc="train")
    valid: dict[str, float] = {}
    if valid_data and step == 0:  # the untrained model's figures, to compare against
        valid = evaluate(model, objective, valid_data, cfg, device)
        if rank == 0:
            _log(metrics_path, {"step": 0, "split": "valid", **valid})
    losses: list[float] = []
    window: dict[str, float] = defaultdict(float)
    window_steps, tokens, t0, started = 0, 0.0, time.perf_counter(), time.perf_counter()
    while step < end:
        step_loss = 0.0
        for micro in range(cfg.grad_accum):
            examples = batches.get(step * cfg.grad_accum + micro)
            batch = to_device(objective.collate(examples, step_generator(cfg.seed, step, micro, rank)), device)
            with torch.autocast(device.type, dtype=dtype) if dtype else nullcontext():
                loss, metrics = objective(model, batch)
            scaler.scale(loss / cfg.grad_accum).backward()
            step_loss += float(loss.detach()) / cfg.grad_accum
            tokens += float(metrics.pop("tokens", 0.0)) * world
            for k, v in metrics.items():
                window[k] += float(v) / cfg.grad_accum
        if world > 1:
            _all_reduce_grads(model, world)
        scaler.unscale_(optimizer)
        if cfg.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        step += 1
        losses.append(step_loss)
        window["loss"] += step_loss
        window_steps += 1
        elapsed = time.perf_counter() - t0
        bar.set_postfix(loss=f"{step_loss:.4f}", tok_s=f"{tokens / max(elapsed, 1e-9):.0f}")
        bar.update(1)
        if rank == 0 and (step % cfg.log_every == 0 or step == end):
            record = {"step": step, "split": "train", "lr": scheduler.get_last_lr()[0],
                      "tokens_per_s": tokens / max(elapsed, 1e-9),
                      **{k: v / window_steps for k, v in window.items()}}
            _log(metrics_path, record)
            window, window_steps, tokens, t0 = defaultdict(float), 0, 0.0, time.perf_counter()
        if valid_data and (step % cfg.eval_every == 0 or step == end):
            valid = evaluate(model, objective, valid_data, cfg, device)
            if rank == 0:
                _log(metrics_path, {"step": step, "split": "valid", **valid})
        if rank == 0 and (step % cfg.save_every == 0 or step == end):
            save_checkpoint(model, optimizer, scheduler, scaler, step, cfg)
    bar.close()
    if rank == 0 and step == cfg.max_steps:
        save_pretrained(model, out)
    return {"step": step, "losses": losses, "train_loss": losses[-1] if losses else None, "valid": valid,
            "seconds": time.perf_counter() - started, "out_dir": str(out), "world_size": world}
