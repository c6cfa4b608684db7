"""Writing docstrings with a frozen-encoder model: code -> frozen MiniLM states -> decoder ->
beam search (no repeated n-grams, a repetition penalty) -> one normalised sentence.

`DocstringWriter(directory)` loads the decoder and the code tokenizer at once and the
encoder (MiniLM, or its code-search delta) on first use; `write(codes)` returns one summary
per function in input order. Functions are encoded in length-sorted batches, and their states
pass through float16 as in training (the cache stores them so).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import torch

from codelm.tasks.docstring.data import summary

_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)", re.MULTILINE)


def normalise(text: str, fallback: str = "") -> str:
    """One sentence: first sentence only, first letter capital, ending with a period; the
    fallback when nothing is left."""
    text = summary(text).strip().rstrip(".,:;").strip()
    if not text:
        return fallback
    return text[0].upper() + text[1:] + "."


def fallback_summary(code: str) -> str:
    """The name template's summary of the function defined in `code`."""
    from codelm.tasks.docstring.baselines import template_docstring

    match = _DEF.search(code)
    return template_docstring(match.group(1)) if match else "Run."


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
              length_penalty: float = 1.0) -> list[str]:
        """One normalised summary per function source, in input order."""
        from codelm.core.generate import beam_search
        from codelm.tasks.docstring.neural import Bound
        from codelm.objectives.cached_states import pad_states

        order = sorted(range(len(codes)), key=lambda i: len(codes[i]))
        out = [""] * len(codes)
        c = self.config
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            states, mask = pad_states([h.numpy() for h in self.states([codes[i] for i in chunk])])
            bos = torch.full((len(chunk), 1), c.bos_token_id, dtype=torch.long)
            new = beam_search(Bound(self.decoder, states, mask), bos, min(max_new_tokens, c.max_target - 1),
                              num_beams, c.eos_token_id, length_penalty, no_repeat_ngram_size,
                              repetition_penalty=repetition_penalty)
            for row, i in enumerate(chunk):
                tokens = [t for t in new[row].tolist() if t not in (c.eos_token_id, c.pad_token_id)]
                text = self.tokenizer.decode(tokens, skip_special=True)
                out[i] = normalise(" ".join(text.split()), fallback_summary(codes[i]))
        return out
