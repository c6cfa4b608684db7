"""Building blocks of the trainer (`codelm.train`): config, schedule, data order, RNG and
checkpoint state, process group.

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
import sys
import time
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

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise UsageError(f"precision {self.precision!r}: use auto, fp32, bf16 or fp16")
        if self.schedule not in ("linear", "cosine", "constant"):
            raise UsageError(f"schedule {self.schedule!r}: use linear, cosine or constant")
        if self.batch_size < 1 or self.grad_accum < 1 or self.max_steps < 0:
            raise UsageError("batch_size and grad_accum must be >= 1 and max_steps >= 0")

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
    import shutil

    from codelm.checkpoint import save_pretrained

    out = Path(cfg.out_dir)
    final, tmp = out / f"checkpoint-{step}", out / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_pretrained(model, tmp)
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


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest complete checkpoint directory under out_dir, or None."""
    out = Path(out_dir)
    done = [p for p in out.glob("checkpoint-*") if (p / STATE_FILE).is_file()]
    return max(done, key=lambda p: int(p.name.split("-")[1])) if done else None
