"""The `docstring` recipe (`codelm train docstring`), two architectures:

- `frozen` (the command's default, `codelm.recipes.docstring_frozen`): a small decoder over a
  frozen MiniLM encoder whose states are cached once per corpus; the shipped model's recipe.
- `prefix-lm` (this module): PyMT5 multi-mode seq2seq training of the core, one set of
  weights as encoder-decoder, in four directions (signature/docstring/body).

Warm starts: a preset name ("tiny", "small", "base": fresh weights), a `codelm pretrain`
output directory (its weights and its tokenizer), or "minilm": the embedded MiniLM's
transformer layers with fresh word embeddings for the cased code tokenizer (MiniLM's own
vocabulary is uncased and would turn `HTTPServer` into `httpserver`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codelm.errors import UsageError
from codelm.recipes.base import build_model, fit, settings


def warm_start(init: str, tokenizer: Any, changes: dict[str, Any]) -> Any:
    """The model to train from `init` (see the module docstring), sized to the tokenizer."""
    from codelm.core.checkpoint import load_pretrained
    from codelm.core.model import CodeLM

    if init != "minilm":
        return build_model(init, tokenizer, changes)
    source = load_pretrained("minilm")
    config = source.config.replace(vocab_size=tokenizer.vocab_size, pad_token_id=tokenizer.pad_id,
                                   bos_token_id=tokenizer.cls_id, eos_token_id=tokenizer.eos_id, **changes)
    model = CodeLM(config)
    own = model.state_dict()
    kept = {k: v for k, v in source.state_dict().items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(kept, strict=False)
    return model


def train_docstring(data: str | Path, out: str | Path, init: str | Path | None = None, overrides: list[str] = (),
                    max_steps: int | None = None, max_source: int = 192, max_target: int = 64,
                    docstring_only: bool = False, resume: bool = False,
                    objective: str = "seq2seq", time_limit: float | None = None, arch: str = "prefix-lm",
                    **frozen: Any) -> dict[str, Any]:
    """Train a docstring model on the corpus in `data` (all PyMT5 directions, or only
    signature+body -> docstring) with `objective` ("seq2seq", or "seq2seq+span" to add T5
    span corruption of each function's code); valid examples are the docstring direction's.
    arch="frozen" trains the frozen-encoder model instead (`frozen`: that recipe's own
    keywords: states, held_out, per_package; objective and lengths do not apply). `init`: the
    prefix-lm's warm start (default minilm); for frozen, a trained frozen model to go on from."""
    import torch

    if arch == "frozen":
        from codelm.recipes.docstring_frozen import train_frozen

        return train_frozen(data, out, overrides, max_steps, resume, time_limit, init=init, **frozen)
    if arch != "prefix-lm" or frozen:
        raise UsageError(f"arch {arch!r}: use frozen or prefix-lm (frozen's options: states, held_out, per_package)")
    from codelm.objectives import get_objective
    from codelm.core.tokenizer import CodeTokenizer, default_tokenizer
    from codelm.tasks.docstring.prompt import DIRECTIONS, DOCSTRING, corpus_examples
    from indexers.corpus import read_corpus

    if objective not in ("seq2seq", "seq2seq+span"):
        raise UsageError(f"objective {objective!r}: use seq2seq or seq2seq+span")
    _, model_changes, cfg = settings(overrides, out, None, max_steps, time_limit)
    init = str(init or "minilm")
    init_dir = Path(init)
    tok = CodeTokenizer.load(init_dir) if (init_dir / "tokenizer.json").is_file() else default_tokenizer()
    torch.manual_seed(cfg.seed)
    model = warm_start(init, tok, model_changes)
    if max_source + max_target > model.config.max_length:
        raise UsageError(f"max_source + max_target = {max_source + max_target} exceeds the model's "
                         f"{model.config.max_length} positions")
    directions = (DOCSTRING,) if docstring_only else DIRECTIONS
    train_data = corpus_examples(tok, read_corpus(data, "train"), directions, max_source, max_target)
    valid_data = corpus_examples(tok, read_corpus(data, "valid"), (DOCSTRING,), max_source, max_target)
    if not train_data:
        raise UsageError(f"{data}: no documented functions in the train split")
    tok.save(out)
    obj = get_objective(objective, tokenizer=tok, max_length=max_source + max_target)
    result = fit(model, obj, train_data, valid_data, cfg, resume)
    return {"init": init, "objective": objective, "train_examples": len(train_data), "valid_examples": len(valid_data), **result}
