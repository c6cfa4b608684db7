"""The `search` recipe (`codelm train search`), fine-tuning a search encoder: MiniLM (or another
checkpoint), the contrastive objective, the shared trainer, on the docstring-code pairs of a
`codelm corpus` directory.

The output directory is a complete encoder: weights (transformers layout) plus the base
model's tokenizer files, so `indexers.embed.Encoder(out)` and `codelm index --model OUT` use it.
With `train_layers` only the top blocks learn (faster steps, and a small delta), and
`write_delta` stores just those blocks over the base: how the default encoder "minilm-code"
ships.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from codelm.errors import UsageError
from codelm.recipes.base import fit, settings
from codelm.train import TOKENIZER_FILES

OBJECTIVE_KEYS = {"temperature": float, "symmetric": bool, "hard_negatives": bool,
                  "negatives_model": str, "sentence_share": float, "name_share": float,
                  "max_length": int, "query_length": int}
# fine-tuning defaults (TrainConfig's are for pretraining from scratch)
DEFAULTS = {"lr": 2e-5, "batch_size": 32, "weight_decay": 0.01, "eval_every": 100, "eval_batches": 20,
            "log_every": 10}
QUERY_KEYS = {"temperature": float, "sentence_share": float, "name_share": float, "query_length": int}
# a query tower's step is short queries only: larger batches and rate (chosen on the tune split)
QUERY_DEFAULTS = {**DEFAULTS, "lr": 5e-5, "batch_size": 64, "eval_every": 200}
CODE_KEYS = {"temperature": float, "max_length": int}
CODE_DEFAULTS = {**DEFAULTS, "lr": 3e-5, "batch_size": 32}
CODE_LAYERS = 3  # of the code side trained: the blocks minilm-code's delta holds
QUERY_LAYERS = 6  # of a query tower trained: all of them (in 42 minutes, hybrid MRR tune +0.009, test +0.005 over the top 3)


def freeze_below(model: Any, train_layers: int, heads: tuple[str, ...] = ()) -> int:
    """Leave only the top `train_layers` blocks (and the `heads` named by prefix) trainable:
    embeddings and lower blocks frozen, so no gradient flows below them; returns the number of
    trainable parameters."""
    layers = len(model.blocks)
    if not 1 <= train_layers <= layers:
        raise UsageError(f"--train-layers must be between 1 and {layers} (the model's blocks)")
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith(heads) if heads else False
        if name.startswith("blocks.") and int(name.split(".")[1]) >= layers - train_layers:
            param.requires_grad = True
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def write_delta(model_dir: str | Path, out: str | Path, base: str = "minilm",
                heads: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write the encoder tensors (embeddings and blocks) of `model_dir` that differ from `base`,
    and all of the `heads` named by prefix (a base has none trained: a head's bias that training
    left as initialised must still be stored), in half precision under our module names, with
    its config and tokenizer files: a delta directory that `load_pretrained` reads over `base`
    (how the shipped "minilm-code" is stored: the few blocks that training changed instead of
    the whole model)."""
    import torch
    from safetensors.torch import save_file

    from codelm.core.checkpoint import DELTA_FILE, DELTA_META, load_pretrained

    source, out = Path(model_dir), Path(out)
    weights, base_weights = load_pretrained(source).state_dict(), load_pretrained(base).state_dict()
    changed = {k: v.half().contiguous() for k, v in weights.items() if k.startswith(heads)
               or k.startswith(("embeddings.", "blocks.")) and not torch.equal(v, base_weights[k])}
    out.mkdir(parents=True, exist_ok=True)
    save_file(changed, str(out / DELTA_FILE), metadata={"format": "pt"})
    for name in ("config.json",) + TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    meta = {"base": base, "tensors": len(changed), "parameters": sum(v.numel() for v in changed.values())}
    (out / DELTA_META).write_text(json.dumps(meta, indent=1) + "\n")
    return {**meta, "bytes": (out / DELTA_FILE).stat().st_size}


def write_code_delta(model_dir: str | Path, out: str | Path, base: str = "minilm-code") -> dict[str, Any]:
    """Write a code side trained over `base` (`train_codes`) as a complete encoder: a delta over
    `base`'s own base (the embedded MiniLM, for minilm-code), with `base`'s query tower copied
    in, the tower the code side was trained against."""
    from codelm.core import DELTA_META, QUERY_TOWER, resolve_model_dir

    base_dir = resolve_model_dir(base)
    meta = base_dir / DELTA_META
    written = write_delta(model_dir, out, json.loads(meta.read_text())["base"] if meta.is_file() else base)
    if (base_dir / QUERY_TOWER).is_dir() and base_dir.resolve() != Path(out).resolve():
        shutil.copytree(base_dir / QUERY_TOWER, Path(out) / QUERY_TOWER, dirs_exist_ok=True)
    return written


def negatives_cache(data: str | Path, model: str | None) -> Path:
    """Where the hard negatives mined from the corpus `data` (by BM25 and `model`) are kept."""
    return Path(data) / f"negatives-{Path(model).name if model else 'bm25'}.npy"


def train_search(data: str | Path, out: str | Path, max_steps: int | None = None,
                 overrides: list[str] = (), base: str = "minilm", resume: bool = False,
                 train_layers: int | None = None, time_limit: float | None = None) -> dict[str, Any]:
    """Fine-tune `base` contrastively on the pairs of the corpus `data` (all of it, or its top
    `train_layers` blocks); returns train's summary."""
    return fine_tune("contrastive", OBJECTIVE_KEYS, DEFAULTS, data, out, max_steps, overrides, base, resume,
                     train_layers, time_limit)


def train_queries(data: str | Path, out: str | Path, max_steps: int | None = None,
                  overrides: list[str] = (), base: str = "minilm-code", resume: bool = False,
                  train_layers: int | None = QUERY_LAYERS, time_limit: float | None = None,
                  init: str | None = None) -> dict[str, Any]:
    """Train a query tower for the encoder `base`: a copy of it (or of the tower `init`, to train
    one further; its top `train_layers` blocks) that learns to encode queries against `base`'s
    own code vectors, which stay as they are (the `query-tower` objective). Its delta over
    `base` written into `base`'s QUERY_TOWER folder (`write_delta(out, base_dir / QUERY_TOWER,
    base)`), search encodes queries with it, and indexes made by `base` keep their vectors."""
    cache = Path(data) / f"codes-{Path(str(base)).name}.npz"
    return fine_tune("query-tower", QUERY_KEYS, QUERY_DEFAULTS, data, out, max_steps, overrides, base, resume,
                     train_layers, time_limit, cache=cache, objective_kw={"code_model": str(base)}, init=init)


def train_codes(data: str | Path, out: str | Path, max_steps: int | None = None,
                overrides: list[str] = (), base: str = "minilm-code", resume: bool = False,
                train_layers: int | None = CODE_LAYERS, time_limit: float | None = None) -> dict[str, Any]:
    """Train the code side of the encoder `base` (its top `train_layers` blocks) against its
    query tower's fixed vectors of the corpus' queries (the `code-tower` objective): the mirror
    of `train_queries`. `write_code_delta(out, DIR, base)` makes it a new encoder with `base`'s
    query tower; indexes must be rebuilt with it."""
    cache = Path(data) / f"queries-{Path(str(base)).name}.npz"
    return fine_tune("code-tower", CODE_KEYS, CODE_DEFAULTS, data, out, max_steps, overrides, base, resume,
                     train_layers, time_limit, cache=cache, objective_kw={"query_model": str(base)})


def fine_tune(objective_name: str, keys: dict[str, type], defaults: dict[str, Any], data: str | Path,
              out: str | Path, max_steps: int | None, overrides: list[str], base: str, resume: bool,
              train_layers: int | None, time_limit: float | None, heads: tuple[str, ...] = (),
              layers: int | None = None, cache: Path | None = None,
              objective_kw: dict[str, Any] | None = None, init: str | None = None) -> dict[str, Any]:
    """Fine-tune `base` (or the weights `init` of a model like it; cut to its first `layers`
    blocks if given) with a search objective (contrastive, rerank, query-tower, code-tower) on
    the corpus `data`'s pairs, all of it or its top `train_layers` blocks plus the `heads`; the
    objective prepares what it needs (mined hard negatives, the fixed side's vectors) for both
    splits, kept in `cache` (default: `negatives_cache`)."""
    from codelm.core.checkpoint import load_pretrained, resolve_model_dir
    from codelm.objectives import get_objective
    from indexers.corpus import read_corpus

    objective_settings, model_changes, cfg = settings(overrides, out, keys, max_steps, time_limit, defaults)
    if model_changes:
        raise UsageError(f"model settings ({', '.join(model_changes)}) do not apply when fine-tuning {base!r}")
    given = {pair.partition("=")[0] for pair in overrides}
    if "warmup_steps" not in given:
        cfg.warmup_steps = max(1, cfg.max_steps // 10)
    if "save_every" not in given:
        cfg.save_every = cfg.max_steps
    base_dir = resolve_model_dir(base)
    model = load_pretrained(init or base_dir).train()
    if layers:
        if not 1 <= layers <= model.config.num_layers:
            raise UsageError(f"--layers must be between 1 and {model.config.num_layers} (the blocks of {base!r})")
        model.keep_layers(layers)
    trainable = freeze_below(model, train_layers, heads) if train_layers \
        else sum(p.numel() for p in model.parameters())
    objective = get_objective(objective_name, tokenizer=str(base_dir), pad_id=model.config.pad_token_id,
                              cache=cache or negatives_cache(data, objective_settings.get("negatives_model")),
                              **objective_settings, **(objective_kw or {}))
    train_data = [r for r in read_corpus(data, "train") if r["nl"]]
    valid_data = [r for r in read_corpus(data, "valid") if r["nl"]]
    if not train_data:
        raise UsageError(f"{data}: the corpus has no docstring-code pairs to train on")
    objective.fit(train_data)
    if hasattr(objective, "fit_valid"):
        objective.fit_valid(valid_data)
    Path(out).mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:  # first, so that every checkpoint is an encoder too
        if (base_dir / name).is_file():
            shutil.copy2(base_dir / name, Path(out) / name)
    result = fit(model, objective, train_data, valid_data, cfg, resume)
    return {"base": base, "layers": model.config.num_layers, "trainable_parameters": trainable,
            "train_pairs": len(train_data), "valid_pairs": len(valid_data),
            "pairs_per_s": round(result["steps_run"] * cfg.batch_size * cfg.grad_accum / max(result["seconds"], 1e-9), 1),
            **objective_settings, **result}
