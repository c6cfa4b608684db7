"""Writing docstrings with a frozen-encoder model: code -> frozen MiniLM states -> decoder ->
beam search (no repeated n-grams, a repetition penalty) -> one normalised sentence.

The decoder has no copy mechanism, so beam search adds `COPY_BIAS` to the logits of the words
of the function's name and parameters (`parse_config(path)`: parse, config, path; each as
written, lowercase and capitalised, with and without a leading space): summaries name what the
function names ("Parse the config file."). Chosen on the tune split (0.75, 1.0 and 1.5 tried
on 500 functions; 1.0 best): BLEU-4 12.77 without, 13.04 with it on all 2,139 tune functions
(`codelm eval docstring --copy`; benchmarks/results/docgen_frozen_cpu.json).

`DocstringWriter(directory)` loads the decoder and the code tokenizer at once and the
encoder (MiniLM, or its code-search delta) on first use; `write(codes)` returns one summary
per function in input order. A function that is a near copy of a training function gets that
function's summary from the model's memory (`codelm.tasks.docstring.memory`), when it has one.
Functions are encoded in length-sorted batches, and their states pass through float16 as in
training (the cache stores them so).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import torch

from codelm.tasks.docstring.data import summary

_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)", re.MULTILINE)
_SECTION = re.compile(r"\b\w+:?\s+[-=]{4,}")  # a numpydoc/reST section heading and its underline
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
COPY_BIAS = 1.0


def normalise(text: str, fallback: str = "") -> str:
    """One sentence: first sentence only, cut before a section heading ("Parameters ------",
    which some training docstrings start with), first letter capital, ending with a period;
    the fallback when nothing is left."""
    text = _SECTION.split(summary(text), maxsplit=1)[0].strip().rstrip(".,:;").strip()
    if not text:
        return fallback
    return text[0].upper() + text[1:] + "."


def fallback_summary(code: str) -> str:
    """The name template's summary of the function defined in `code`."""
    from codelm.tasks.docstring.baselines import template_docstring

    match = _DEF.search(code)
    return template_docstring(match.group(1)) if match else "Run."


def identifier_words(code: str) -> list[str]:
    """Words of the name and parameters of the first function defined in `code`, as written:
    `def parse_HTTPHeader(self, raw_line, n)` -> ['parse', 'HTTP', 'Header', 'raw', 'line']
    (one-letter words left out); the name's words only when the code does not parse."""
    import ast
    import textwrap
    import warnings

    try:
        with warnings.catch_warnings():  # the user's code, not ours: no SyntaxWarning on stderr
            warnings.simplefilter("ignore")
            tree = ast.parse(textwrap.dedent(code))
        node = next(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    except (SyntaxError, ValueError, StopIteration):
        match = _DEF.search(code)
        names = [match.group(1)] if match else []
    else:
        a = node.args
        every = [*a.posonlyargs, *a.args, *([a.vararg] if a.vararg else []), *a.kwonlyargs,
                 *([a.kwarg] if a.kwarg else [])]
        names = [node.name, *(x.arg for x in every if x.arg not in ("self", "cls"))]
    return list(dict.fromkeys(w for n in names for w in _WORD.findall(n) if len(w) > 1))


def copy_bias(tokenizer: Any, codes: Sequence[str], vocab_size: int, value: float = COPY_BIAS) -> torch.Tensor:
    """(len(codes), vocab_size): `value` at the tokens of each function's identifier words."""
    bias = torch.zeros(len(codes), vocab_size)
    for row, code in enumerate(codes):
        variants = {v for w in identifier_words(code) for c in {w, w.lower(), w.capitalize()} for v in (c, f" {c}")}
        ids = {i for e in tokenizer.encode_batch(sorted(variants)) for i in e} if variants else set()
        bias[row, sorted(ids)] = value
    return bias


class DocstringWriter:
    """A loaded frozen-encoder docstring model; see the module docstring."""

    def __init__(self, directory: str | Path) -> None:
        from codelm.tasks.docstring.neural import load_decoder
        from codelm.core.tokenizer import CodeTokenizer, default_tokenizer

        self.directory = directory = Path(directory)
        self.decoder = load_decoder(directory)
        self.config = self.decoder.config
        has_own = (directory / "tokenizer.json").is_file()
        self.tokenizer = CodeTokenizer.load(directory) if has_own else default_tokenizer()
        self._encoder: tuple[Any, Any] | None = None
        self._memory: Any = None

    def memory(self) -> Any:
        """The model's `Memory` of its training functions, loaded once; None if it has none."""
        from codelm.tasks.docstring.memory import Memory

        if self._memory is None and Memory.exists(self.directory):
            self._memory = Memory(self.directory)
        return self._memory

    def encoder(self) -> tuple[Any, Any]:
        """(frozen encoder model, its tokenizer), loaded once."""
        if self._encoder is None:
            from codelm.tasks.docstring.states import load_frozen_encoder

            self._encoder = load_frozen_encoder(self.config.encoder, self.config.max_source)
        return self._encoder

    def states(self, codes: Sequence[str]) -> list[torch.Tensor]:
        """Encoder states (length, dim) of each code, rounded through float16 as cached in training."""
        from codelm.tasks.docstring.states import encode_states

        model, tokenizer = self.encoder()
        ids = [e.ids for e in tokenizer.encode_batch(list(codes))]
        return [h.half().float() for h in encode_states(model, ids)]

    @torch.no_grad()
    def write(self, codes: Sequence[str], num_beams: int = 4, max_new_tokens: int = 32, batch_size: int = 32,
              no_repeat_ngram_size: int = 3, repetition_penalty: float = 1.2,
              length_penalty: float = 1.0, copy: float = COPY_BIAS, memory: bool = True) -> list[str]:
        """One normalised summary per function source, in input order; `copy`: the logit bias of
        the function's identifier words (0: none); `memory`: near copies of training functions
        get their summaries (False: the decoder writes every one)."""
        from codelm.core.generate import beam_search
        from codelm.tasks.docstring.neural import Bound
        from codelm.objectives.cached_states import pad_states

        remembered = self.memory() if memory else None
        out = [(remembered.recall(code) if remembered else None) or "" for code in codes]
        order = sorted((i for i in range(len(codes)) if not out[i]), key=lambda i: len(codes[i]))
        c = self.config
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            states, mask = pad_states([h.numpy() for h in self.states([codes[i] for i in chunk])])
            bos = torch.full((len(chunk), 1), c.bos_token_id, dtype=torch.long)
            bias = copy_bias(self.tokenizer, [codes[i] for i in chunk], c.vocab_size, copy) if copy else None
            new = beam_search(Bound(self.decoder, states, mask, bias), bos, min(max_new_tokens, c.max_target - 1),
                              num_beams, c.eos_token_id, length_penalty, no_repeat_ngram_size,
                              repetition_penalty=repetition_penalty)
            for row, i in enumerate(chunk):
                tokens = [t for t in new[row].tolist() if t not in (c.eos_token_id, c.pad_token_id)]
                text = self.tokenizer.decode(tokens, skip_special=True)
                out[i] = normalise(" ".join(text.split()), fallback_summary(codes[i]))
        return out
