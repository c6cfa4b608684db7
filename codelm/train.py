"""One trainer for every objective: `train(model, objective, train_data, valid_data, cfg)`.

An objective is any object with `collate(examples, generator) -> batch` and
`__call__(model, batch) -> (loss, metrics)` (see `codelm.objectives`); metrics may carry
"tokens" (the batch's real tokens, for tokens/s). Here too: the config, the schedule, data
order, RNG and checkpoint state, the process group, and the wall-clock budget
(`TrainConfig.time_limit`: the run stops after the step that crosses it, saves a checkpoint and
the model, and `resume` goes on from there).

Data is a list of examples; each epoch visits a permutation drawn from (seed, epoch), and
rank r of w processes takes every w-th example of it, so the data position follows from the
step alone. An objective turns examples into a batch with `collate(examples, generator)`,
given a generator seeded from (seed, step, micro-batch, rank): its random choices (masks,
replacements) are fixed by the step, never by the run's history. Dropout draws from torch's
global RNG, saved and restored with the checkpoint. Together: 10 steps + resume + 10 steps
reproduce 20 straight steps bit for bit on CPU.

Data parallel (launched with `torchrun`, WORLD_SIZE > 1): gloo on CPU, nccl on GPU; rank 0
broadcasts its initial weights, every backward is followed by one all-reduce that averages
the flattened gradients, and only rank 0 writes files.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from codelm.errors import UsageError

STATE_FILE = "trainer_state.pt"


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping settings of one run."""

    lr: float = 5e-4
    warmup_steps: int = 100
    max_steps: int = 1000  # the schedule's length
    stop_at: int = 0  # stop after this step as if interrupted (0: at max_steps); resume goes on
    schedule: str = "linear"  # linear | cosine | constant (after warm-up)
    batch_size: int = 16  # per process and micro-batch
    grad_accum: int = 1
    clip: float = 1.0
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    eval_every: int = 200
    eval_batches: int = 50  # at most this many valid batches per evaluation
    save_every: int = 500
    log_every: int = 10
    seed: int = 0
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    out_dir: str = "runs/train"
    progress: bool = True
    threads: int = 0  # torch CPU threads (0: torch's default); 1 is fastest on a loaded machine
    time_limit: float = 0.0  # wall-clock budget in seconds for this run (0: none)

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise UsageError(f"precision {self.precision!r}: use auto, fp32, bf16 or fp16")
        if self.schedule not in ("linear", "cosine", "constant"):
            raise UsageError(f"schedule {self.schedule!r}: use linear, cosine or constant")
        if self.batch_size < 1 or self.grad_accum < 1 or self.max_steps < 0:
            raise UsageError("batch_size and grad_accum must be >= 1 and max_steps >= 0")
        if self.time_limit < 0:
            raise UsageError("time_limit must be >= 0 seconds")

    @classmethod
    def field_names(cls) -> set[str]:
        return {f.name for f in fields(cls)}


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier at `step`: linear warm-up, then linear/cosine decay to 0."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
    return 1.0 - progress if cfg.schedule == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))


def _distributed() -> tuple[int, int]:
    """(rank, world size); joins the process group when torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _device() -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. auto: bf16 on GPUs that have it, else fp32."""
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW; biases, norms and other 1-d parameters get no weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas)


class Batches:
    """Deterministic micro-batches of one rank: permutation per epoch, every world-th example."""

    def __init__(self, data: Sequence, batch_size: int, seed: int, rank: int, world: int) -> None:
        if len(data) < world * batch_size:
            raise UsageError(f"{len(data)} training examples are fewer than one batch per process "
                             f"({world} x {batch_size}); lower batch_size or add data")
        self.data, self.batch_size, self.seed, self.rank, self.world = data, batch_size, seed, rank, world
        self.per_epoch = len(data) // world // batch_size  # full batches per epoch and rank

    def get(self, index: int) -> list:
        """The index-th micro-batch of this rank (counting over all epochs)."""
        epoch, k = divmod(index, self.per_epoch)
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.data))
        mine = perm[self.rank::self.world]
        return [self.data[i] for i in mine[k * self.batch_size:(k + 1) * self.batch_size]]


def step_generator(seed: int, step: int, micro: int, rank: int) -> torch.Generator:
    """The generator an objective's collate uses for one micro-batch."""
    g = torch.Generator()
    g.manual_seed(hash((seed, step, micro, rank)) & 0x7FFF_FFFF_FFFF_FFFF)
    return g


def to_device(batch: Any, device: torch.device) -> Any:
    """Move every tensor of a nested dict/list batch to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (and CUDA) RNG states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# written into out_dir by the recipes before training; copied into each checkpoint so that every
# checkpoint is a model directory the commands load (`--model out/checkpoint-400`)
TOKENIZER_FILES = ("tokenizer.json", "codelm_tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")


def save_checkpoint(model: torch.nn.Module, optimizer: Any, scheduler: Any, scaler: Any,
                    step: int, cfg: TrainConfig, extra: dict[str, Any] | None = None) -> Path:
    """Write `out_dir/checkpoint-STEP` atomically (weights in transformers layout + trainer state,
    and the tokenizer files found in out_dir)."""
    out = Path(cfg.out_dir)
    final, tmp = out / f"checkpoint-{step}", out / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_model(model, tmp)
    state = {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "scaler": scaler.state_dict(), "rng": rng_state(), "data_position": step * cfg.grad_accum,
             "train_config": asdict(cfg), **(extra or {})}
    torch.save(state, tmp / STATE_FILE)
    for name in TOKENIZER_FILES:
        if (out / name).is_file():
            shutil.copy2(out / name, tmp / name)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    (out / "latest").write_text(final.name)
    return final


def save_model(model: torch.nn.Module, out: str | Path) -> None:
    """Write a model directory: the model's own `save_pretrained(out)` when it has one (an
    architecture outside the core), else the core's transformers layout."""
    from codelm.core.checkpoint import save_pretrained

    if hasattr(model, "save_pretrained"):
        model.save_pretrained(out)
    else:
        save_pretrained(model, out)


def load_weights(model: torch.nn.Module, directory: str | Path) -> None:
    """Load a model directory's weights into `model`: its own `load_weights` or the core's loader."""
    from codelm.core.checkpoint import load_pretrained

    if hasattr(model, "load_weights"):
        model.load_weights(directory)
    else:
        model.load_state_dict(load_pretrained(directory).state_dict())


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest complete checkpoint directory under out_dir, or None."""
    out = Path(out_dir)
    done = [p for p in out.glob("checkpoint-*") if (p / STATE_FILE).is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1])) if done else None


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


def _out_of_time(started: float, limit: float, world: int) -> bool:
    """Whether the wall-clock budget is spent; with several processes, rank 0's clock decides."""
    if not limit:
        return False
    spent = time.perf_counter() - started >= limit
    if world > 1:
        import torch.distributed as dist

        flag = torch.tensor([float(spent)])
        dist.broadcast(flag, src=0)
        spent = bool(flag.item())
    return spent


def parse_duration(text: str) -> float:
    """Seconds of a duration like "90", "45s", "60m", "1.5h"."""
    units = {"s": 1, "m": 60, "h": 3600}
    value, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        seconds = float(value) * units[unit]
    except ValueError:
        raise UsageError(f"--time {text!r}: write a duration such as 90s, 60m or 1.5h") from None
    if seconds <= 0:
        raise UsageError(f"--time {text!r}: the budget must be positive")
    return seconds


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
        load_weights(model, ckpt)
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
    timed_out = False
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
        timed_out = _out_of_time(started, cfg.time_limit, world)
        last = step == end or timed_out
        if rank == 0 and (step % cfg.log_every == 0 or last):
            record = {"step": step, "split": "train", "lr": scheduler.get_last_lr()[0],
                      "tokens_per_s": tokens / max(elapsed, 1e-9),
                      **{k: v / window_steps for k, v in window.items()}}
            _log(metrics_path, record)
            window, window_steps, tokens, t0 = defaultdict(float), 0, 0.0, time.perf_counter()
        if valid_data and (step % cfg.eval_every == 0 or last):
            valid = evaluate(model, objective, valid_data, cfg, device)
            if rank == 0:
                _log(metrics_path, {"step": step, "split": "valid", **valid})
        if rank == 0 and (step % cfg.save_every == 0 or last):
            save_checkpoint(model, optimizer, scheduler, scaler, step, cfg)
        if timed_out:
            break
    bar.close()
    stopped = "max_steps" if step == cfg.max_steps else "time_limit" if timed_out else "stop_at"
    if rank == 0 and stopped != "stop_at":
        save_model(model, out)
    return {"step": step, "stopped": stopped, "losses": losses, "train_loss": losses[-1] if losses else None, "valid": valid,
            "seconds": time.perf_counter() - started, "out_dir": str(out), "world_size": world}
