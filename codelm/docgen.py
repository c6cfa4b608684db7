"""Docstring generation with a seq2seq-trained core: load a model, write docstrings for
functions (beam search in prefix mode), and score against references and baselines.

A docstring model is a directory with the core (config.json + model.safetensors) and the
code tokenizer (tokenizer.json), as `codelm train docstring` writes it. The prompt is the
`signature+body -> docstring` direction of `codelm.objectives.seq2seq`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from codelm.errors import CodelmError

DEFAULT_DIR = Path(__file__).parent / "data" / "docstring"
TRAIN_HINT = "codelm train docstring --data corpus --out runs/doc"


def find_model(model_dir: str | Path | None = None) -> Path:
    """The model directory: `model_dir`, else the one shipped in the package."""
    if model_dir is not None:
        path = Path(model_dir).expanduser()
        if not (path / "config.json").is_file():
            raise CodelmError(f"{path}: not a docstring model (no config.json); train one with `{TRAIN_HINT}`")
        return path
    if (DEFAULT_DIR / "config.json").is_file():
        return DEFAULT_DIR
    raise CodelmError(f"no docstring model is installed; train one with `{TRAIN_HINT}` "
                      "(corpus from `codelm corpus PATH --out corpus`) and pass --model runs/doc")


def load_model(model_dir: str | Path | None = None) -> tuple[Any, Any]:
    """(model in eval mode, tokenizer) of a docstring model directory."""
    from codelm.checkpoint import load_pretrained
    from codelm.tokenizer import CodeTokenizer, default_tokenizer

    path = find_model(model_dir)
    tok = CodeTokenizer.load(path) if (path / "tokenizer.json").is_file() else default_tokenizer()
    return load_pretrained(path), tok


def function_code(path: str | Path, qualname: str) -> str:
    """The source of function `qualname` in the file at `path`, docstring removed."""
    from indexers.corpus import code_without_docstring
    from indexers.extract import extract_file, language_for

    path = Path(path)
    if not path.is_file():
        raise CodelmError(f"{path}: no such file")
    language = language_for(path)
    if language is None:
        raise CodelmError(f"{path}: not a source file of a supported language")
    units = [u for u in extract_file(path, path.name, language) if u.kind != "class"]
    for unit in units:
        if unit.name == qualname:
            return code_without_docstring(unit)
    known = ", ".join(u.name for u in units[:8]) or "none"
    raise CodelmError(f"{path}: no function {qualname!r} (functions: {known}); give --name as Class.method")


def docstring_source(code: str, language: str = "python") -> str:
    """The prompt text asking for the docstring of `code`."""
    from codelm.objectives.seq2seq import DOCSTRING, features_of, source_text

    try:
        features = features_of(code, "", language)
    except CodelmError:
        features = None
    if features is None:
        return f"# target docstring\n{code.strip()}"
    return source_text(features, *DOCSTRING)


def generate_docstrings(model: Any, tokenizer: Any, codes: Sequence[str], num_beams: int = 4,
                        max_new_tokens: int = 48, batch_size: int = 32, length_penalty: float = 1.0,
                        no_repeat_ngram_size: int = 3, use_cache: bool = True) -> list[str]:
    """One docstring summary per function source, in order, on one line."""
    texts = generate_texts(model, tokenizer, [docstring_source(c) for c in codes], num_beams, max_new_tokens,
                           batch_size, length_penalty, no_repeat_ngram_size, use_cache)
    return [" ".join(t.split()) for t in texts]


def generate_texts(model: Any, tokenizer: Any, sources: Sequence[str], num_beams: int = 4,
                   max_new_tokens: int = 48, batch_size: int = 32, length_penalty: float = 1.0,
                   no_repeat_ngram_size: int = 3, use_cache: bool = True) -> list[str]:
    """The model's target text for each source text (`# target ...` prompts), in order.
    Prompts are batched by length and left-padded (the training layout)."""
    import torch

    from codelm.generate import beam_search
    from codelm.objectives.seq2seq import encode_pair

    max_source = max(8, min(192, model.config.max_length - max_new_tokens))
    ids_of = [encode_pair(tokenizer, s, max_source=max_source)["source"] for s in sources]
    order = sorted(range(len(ids_of)), key=lambda i: len(ids_of[i]))
    device = next(model.parameters()).device
    out = [""] * len(ids_of)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(len(ids_of[i]) for i in chunk)
        ids = torch.full((len(chunk), width), tokenizer.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, i in enumerate(chunk):
            ids[row, width - len(ids_of[i]):] = torch.tensor(ids_of[i])
            mask[row, width - len(ids_of[i]):] = 1
        new = beam_search(model, ids.to(device), max_new_tokens, num_beams, tokenizer.eos_id, length_penalty,
                          no_repeat_ngram_size, mode="prefix", attention_mask=mask.to(device), use_cache=use_cache)
        for row, i in enumerate(chunk):
            tokens = [t for t in new[row].tolist() if t not in (tokenizer.eos_id, tokenizer.pad_id)]
            out[i] = tokenizer.decode(tokens, skip_special=True)
    return out


def body_parse_rate(model: Any, tokenizer: Any, records: Sequence[dict], **generation: Any) -> float:
    """Percent of bodies generated from signature + docstring (PyMT5's `# target body`) that
    parse as Python under their signature."""
    from codelm.metrics import python_parses
    from codelm.objectives.seq2seq import DIRECTIONS, features_of, source_text

    given, target = DIRECTIONS[2]
    features = [f for f in (features_of(r["code"], r.get("nl", "")) for r in records) if f and f["docstring"]]
    if not features:
        return 0.0
    bodies = generate_texts(model, tokenizer, [source_text(f, given, target) for f in features], **generation)
    ok = sum(python_parses(f"{f['signature']}\n{b}") for f, b in zip(features, bodies))
    return 100 * ok / len(features)


def evaluate(data: str | Path, model_dir: str | Path | None = None, split: str = "valid",
             limit: int | None = None, with_model: bool = True, bodies: bool = False,
             **generation: Any) -> dict[str, Any]:
    """BLEU-4 / ROUGE-L / exact match of the model and of both baselines on the bimodal
    records of `split`, references being their docstring summaries (`nl`); with `bodies`,
    also the percent of generated bodies that parse (`body_parses`)."""
    from codelm.docgen_baselines import RetrievalBaseline, template_docstring
    from codelm.metrics import text_scores
    from indexers.corpus import read_corpus

    records = [r for r in read_corpus(data, split) if r.get("nl")][:limit]
    train = [r for r in read_corpus(data, "train") if r.get("nl")]
    if not records or not train:
        raise CodelmError(f"{data}: need documented functions in the train and {split} splits")
    refs = [r["nl"] for r in records]
    retrieval = RetrievalBaseline([r["code"] for r in train], [r["nl"] for r in train])
    result: dict[str, Any] = {"split": split, "count": len(records),
                              "template": text_scores([template_docstring(r["name"]) for r in records], refs),
                              "retrieval": text_scores([retrieval(r["code"]) for r in records], refs)}
    if with_model:
        model, tok = load_model(model_dir)
        began = time.perf_counter()
        predictions = generate_docstrings(model, tok, [r["code"] for r in records], **generation)
        result["model"] = text_scores(predictions, refs)
        result["docstrings_per_second"] = len(records) / max(time.perf_counter() - began, 1e-9)
        if bodies:
            result["body_parses"] = body_parse_rate(model, tok, records, **generation)
    return result
