"""Docstring generation with a seq2seq-trained core: load a model, write docstrings for
functions (beam search in prefix mode).

A docstring model is a directory with the core (config.json + model.safetensors) and the
code tokenizer (tokenizer.json), as `codelm train docstring` writes it. The prompt is the
`signature+body -> docstring` direction of `codelm.tasks.docstring.prompt`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from codelm.errors import CodelmError

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "docstring"
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
    """(model in eval mode, tokenizer) of a docstring model directory; for the frozen-encoder
    architecture (the shipped model's), (its `DocstringWriter`, its code tokenizer)."""
    from codelm.core.checkpoint import load_pretrained
    from codelm.core.tokenizer import CodeTokenizer, default_tokenizer
    from codelm.tasks.docstring.neural import is_frozen_model

    path = find_model(model_dir)
    if is_frozen_model(path):
        from codelm.tasks.docstring.writer import DocstringWriter

        writer = DocstringWriter(path)
        return writer, writer.tokenizer
    tok = CodeTokenizer.load(path) if (path / "tokenizer.json").is_file() else default_tokenizer()
    return load_pretrained(path), tok


def read_source(path: str | Path) -> tuple[bytes, str]:
    """(bytes, text) of a source file; one error line for a directory, a missing, binary or
    non-UTF-8 file."""
    path = Path(path)
    if path.is_dir():
        raise CodelmError(f"{path}: is a directory; give the source file that holds the function")
    if not path.is_file():
        raise CodelmError(f"{path}: no such file")
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise CodelmError(f"{path}: a binary file, not source code")
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError:
        raise CodelmError(f"{path}: not UTF-8 text") from None


def find_function(path: str | Path, qualname: str) -> Any:
    """The function or method `qualname` of the file at `path`, as extracted (`CodeUnit`)."""
    from indexers.extract import extract_text, language_for

    path = Path(path)
    language = language_for(path)
    _, text = read_source(path)
    if language is None:
        raise CodelmError(f"{path}: not a source file of a supported language")
    units = [u for u in extract_text(text, path.name, language) if u.kind != "class"]
    for unit in units:
        if unit.name == qualname:
            return unit
    known = ", ".join(u.name for u in units[:8]) or "none"
    raise CodelmError(f"{path}: no function {qualname!r} (functions: {known}); give --name as Class.method")


def docstring_source(function: str | Any, language: str = "python") -> str:
    """The prompt asking for the docstring of a function: its source (docstring removed) or
    its extracted unit, which is used as it is (no second parse)."""
    from codelm.tasks.docstring.prompt import DOCSTRING, features_of, source_text, unit_features

    if isinstance(function, str):
        try:
            features = features_of(function, "", language)
        except CodelmError:
            features = None
    else:
        features = unit_features(function)
    if features is None:
        code = function if isinstance(function, str) else function.code
        return f"# target docstring\n{code.strip()}"
    return source_text(features, *DOCSTRING)


def generate_docstrings(model: Any, tokenizer: Any, functions: Sequence[str | Any], num_beams: int = 4,
                        max_new_tokens: int = 48, batch_size: int = 32, length_penalty: float = 1.0,
                        no_repeat_ngram_size: int = 3, use_cache: bool = True,
                        copy: float | None = None, memory: bool = True) -> list[str]:
    """One docstring summary per function (its source, or its extracted unit), in order, on one line.
    `copy`: a frozen-encoder model's logit bias of identifier words (None: its default);
    `memory`: a frozen-encoder model answers near copies of its training functions from its memory."""
    from codelm.tasks.docstring.writer import DocstringWriter

    if isinstance(model, DocstringWriter):
        from indexers.corpus import code_without_docstring

        codes = [f if isinstance(f, str) else code_without_docstring(f) for f in functions]
        return model.write(codes, num_beams=num_beams, max_new_tokens=max_new_tokens, batch_size=batch_size,
                           no_repeat_ngram_size=no_repeat_ngram_size, length_penalty=length_penalty,
                           memory=memory, **({} if copy is None else {"copy": copy}))
    texts = generate_texts(model, tokenizer, [docstring_source(f) for f in functions], num_beams, max_new_tokens,
                           batch_size, length_penalty, no_repeat_ngram_size, use_cache)
    return [" ".join(t.split()) for t in texts]


def generate_texts(model: Any, tokenizer: Any, sources: Sequence[str], num_beams: int = 4,
                   max_new_tokens: int = 48, batch_size: int = 32, length_penalty: float = 1.0,
                   no_repeat_ngram_size: int = 3, use_cache: bool = True) -> list[str]:
    """The model's target text for each source text (`# target ...` prompts), in order.
    Prompts are batched by length and left-padded (the training layout)."""
    import torch

    from codelm.core.generate import beam_search
    from codelm.tasks.docstring.prompt import encode_pair

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
