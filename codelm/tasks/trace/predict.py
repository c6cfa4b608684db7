"""Running a trained trace model: load it, and predict CodeExecutor trace texts of programs
without running them (greedy decoding in prefix mode, prompts of equal length together)."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import UsageError

SETTINGS_FILE = "trace_config.json"  # block length and loss settings, written by the recipe


def load_trace_model(model_dir: str | Path) -> tuple[Any, Any, dict[str, Any]]:
    """(model in eval mode on the best device, tokenizer, settings) of a trained trace model."""
    import torch

    from codelm.core.checkpoint import load_pretrained
    from codelm.core.tokenizer import CodeTokenizer, default_tokenizer

    root = Path(model_dir)
    if not root.is_dir():
        raise UsageError(f"--model {model_dir}: no such directory; train one with `codelm train trace`")
    model = load_pretrained(root).eval()
    model.to(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    tok = CodeTokenizer.load(root) if (root / "tokenizer.json").is_file() else default_tokenizer()
    settings = json.loads((root / SETTINGS_FILE).read_text()) if (root / SETTINGS_FILE).is_file() else {}
    settings.setdefault("max_length", min(512, model.config.max_length))
    return model, tok, settings


def predict_traces(model: Any, tok: Any, programs: Sequence[tuple[str, str]], max_length: int = 512,
                   source_share: float = 0.25, batch_size: int = 16, use_cache: bool = True,
                   max_new_tokens: int | None = None) -> tuple[list[str], dict[str, float]]:
    """Greedy trace texts of (source, stdin) programs, and decoding figures
    (`trace_tokens`, `seconds`, `tokens_per_s`). Prompts of equal length decode together; a
    trace ends at `</s>`, at the block's end, or after max_new_tokens."""
    import torch

    from codelm.core.generate import greedy
    from codelm.objectives.trace import PREFIX_SPECIALS, prefix
    from codelm.tasks.trace.prompt import source_ids

    budget = max_length - PREFIX_SPECIALS - 1
    cap = max(int(budget * source_share), budget - 16)  # leave the trace at least 16 tokens
    prompts = [prefix(tok, source_ids(tok, src, stdin)[:cap]) for src, stdin in programs]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    texts: list[str] = [""] * len(prompts)
    device = next(model.parameters()).device
    n_tokens, start = 0, time.perf_counter()
    for _, group in itertools.groupby(order, key=lambda i: len(prompts[i])):
        group = list(group)
        for b in range(0, len(group), batch_size):
            rows = group[b:b + batch_size]
            ids = torch.tensor([prompts[i] for i in rows], device=device)
            room = max_length - ids.shape[1]
            new = greedy(model, ids, min(room, max_new_tokens or room), eos_id=tok.eos_id, mode="prefix",
                         use_cache=use_cache).tolist()
            for i, out in zip(rows, new):
                ended = tok.eos_id in out
                out = out[:out.index(tok.eos_id)] if ended else out
                n_tokens += len(out) + ended
                texts[i] = tok.decode(out, skip_special=True).strip()
    seconds = time.perf_counter() - start
    return texts, {"trace_tokens": n_tokens, "seconds": round(seconds, 3),
                   "tokens_per_s": round(n_tokens / max(seconds, 1e-9), 1)}
