"""A byte-level BPE tokenizer for code with PyMT5-style whitespace tokens.

Text is cut into lines; each line becomes `[<dedent>...][<indent>] rest`, lines are joined by
`<newline>`. The indent stack holds indentation strings; `<indent>` pushes the top plus four
spaces, `<dedent>` pops. A line keeps, as plain text after the markers, whatever indentation
the stack does not explain (tabs, odd widths), so nothing is lost. Blank lines
(whitespace only) are written raw and leave the stack alone, so a blank line inside a block
costs no dedent/indent pair. Decoding replays the stack: a marked or non-blank line is the
stack top followed by its text, a blank one is its text. So `decode(encode(t)) == t` for any
string `t`: the BPE is byte-level, and literal marker names in the text are encoded as plain
bytes, never as markers.

Special tokens (single ids, also when they appear in text): `<s>` `<pad>` `</s>` `<unk>`
`<mask>`, CodeExecutor's `<line>` `<state>` `</state>` `<dictsep>` `<output>`, UniXcoder's
mode tokens, and 64 span sentinels `<extra_0>`... for T5 span corruption.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from codelm.errors import CodelmError

WHITESPACE = ("<newline>", "<indent>", "<dedent>")
SPECIAL = ("<s>", "<pad>", "</s>", "<unk>", "<mask>", *WHITESPACE,
           "<line>", "<state>", "</state>", "<dictsep>", "<output>",
           "<encoder-only>", "<decoder-only>", "<encoder-decoder>",
           *(f"<extra_{i}>" for i in range(64)))
INDENT = "    "
_MARKER_TEXT = re.compile("|".join(re.escape(m) for m in WHITESPACE))
DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "tokenizer"


class CodeTokenizer:
    """Encode code to ids and back, losslessly; see the module docstring."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tok = tokenizer
        self.plain = Tokenizer.from_str(tokenizer.to_str())  # encodes marker names as bytes
        self.plain.encode_special_tokens = True
        ids = {name: tokenizer.token_to_id(name) for name in SPECIAL}
        if None in ids.values():
            missing = [name for name, i in ids.items() if i is None]
            raise CodelmError(f"tokenizer lacks special tokens {missing[:5]}: train it with codelm")
        self.special_ids = ids
        self.cls_id, self.pad_id, self.eos_id = ids["<s>"], ids["<pad>"], ids["</s>"]
        self.sep_id, self.unk_id, self.mask_id = ids["</s>"], ids["<unk>"], ids["<mask>"]
        self.newline_id, self.indent_id, self.dedent_id = (ids[m] for m in WHITESPACE)

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def token_id(self, token: str) -> int:
        """The id of a special token such as `<line>`."""
        return self.special_ids[token]

    # encoding -----------------------------------------------------------------------------
    def encode(self, text: str, add_special: bool = False) -> list[int]:
        """Ids of `text`; with add_special, `<s> ... </s>` around them."""
        ids = self._encode_chunks(_structure(text))
        return [self.cls_id, *ids, self.eos_id] if add_special else ids

    def encode_batch(self, texts: list[str], add_special: bool = False) -> list[list[int]]:
        """`encode` of each text; the BPE runs batched in Rust."""
        structured = [_structure(t) for t in texts]
        pieces = [p for chunks in structured for p in chunks if isinstance(p, str)]
        encoded = iter(self._encode_strings(pieces))
        out = []
        for chunks in structured:
            ids = [i for p in chunks for i in (next(encoded) if isinstance(p, str) else [self._marker(p)])]
            out.append([self.cls_id, *ids, self.eos_id] if add_special else ids)
        return out

    def _marker(self, index: int) -> int:
        return (self.newline_id, self.indent_id, self.dedent_id)[index]

    def _encode_chunks(self, chunks: list[str | int]) -> list[int]:
        strings = iter(self._encode_strings([c for c in chunks if isinstance(c, str)]))
        return [i for c in chunks for i in (next(strings) if isinstance(c, str) else [self._marker(c)])]

    def _encode_strings(self, texts: list[str]) -> list[list[int]]:
        """BPE ids of plain strings: special tokens match, marker names stay plain bytes."""
        if not texts:
            return []
        out = []
        for text in texts:
            parts = _MARKER_TEXT.split(text)
            literals = _MARKER_TEXT.findall(text)
            ids = list(self.tok.encode(parts[0], add_special_tokens=False).ids)
            for literal, part in zip(literals, parts[1:]):
                ids += self.plain.encode(literal, add_special_tokens=False).ids
                ids += self.tok.encode(part, add_special_tokens=False).ids
            out.append(ids)
        return out

    # decoding -----------------------------------------------------------------------------
    def decode(self, ids: Iterable[int], skip_special: bool = False) -> str:
        """Text of ids; skip_special drops `<s>`, `</s>`, `<pad>` (never the whitespace tokens)."""
        drop = {self.cls_id, self.eos_id, self.pad_id} if skip_special else set()
        lines, stack = [], [""]
        ops: list[int] = []
        run: list[int] = []
        for i in [*ids, self.newline_id]:
            if i in drop:
                continue
            if i == self.newline_id:
                lines.append(_line(stack, ops, self.tok.decode(run, skip_special_tokens=False)))
                ops, run = [], []
            elif i in (self.indent_id, self.dedent_id) and not run:
                ops.append(i)
                if i == self.indent_id:
                    stack.append(stack[-1] + INDENT)
                elif len(stack) > 1:
                    stack.pop()
            else:
                run.append(i)
        return "\n".join(lines)

    # persistence ----------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 16384, min_frequency: int = 2) -> "CodeTokenizer":
        """Train the BPE on texts (their lines without indentation, as the encoder sees them)."""
        tok = Tokenizer(models.BPE(unk_token=None))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=list(SPECIAL), show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        pieces = (p for t in texts for p in _structure(t) if isinstance(p, str) and p)
        tok.train_from_iterator(pieces, trainer)
        return cls(tok)

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tok.save(str(directory / "tokenizer.json"))
        (directory / "codelm_tokenizer.json").write_text(json.dumps({"kind": "code-bpe", "indent": INDENT}))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "CodeTokenizer":
        path = Path(directory) / "tokenizer.json"
        if not path.is_file():
            raise CodelmError(f"no tokenizer at {directory} (expected tokenizer.json)")
        return cls(Tokenizer.from_file(str(path)))


def _structure(text: str) -> list[str | int]:
    """Text as plain strings and marker indexes (0 newline, 1 indent, 2 dedent)."""
    out: list[str | int] = []
    stack = [""]
    for n, line in enumerate(text.split("\n")):
        if n:
            out.append(0)
        if not line.strip():
            out.append(line)
            continue
        while not line.startswith(stack[-1]):
            stack.pop()
            out.append(2)
        if line.startswith(stack[-1] + INDENT):
            stack.append(stack[-1] + INDENT)
            out.append(1)
        out.append(line[len(stack[-1]):])
    return out


def _line(stack: list[str], ops: list[int], text: str) -> str:
    return text if not ops and not text.strip() else stack[-1] + text


@lru_cache(maxsize=1)
def default_tokenizer() -> CodeTokenizer:
    """The tokenizer shipped with codelm (see `benchmarks/train_tokenizer.py` for its recipe)."""
    return CodeTokenizer.load(DEFAULT_DIR)


def stdlib_sources(limit: int | None = None) -> list[str]:
    """The standard library's Python files as text, in sorted path order (the default corpus)."""
    import sysconfig

    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)
    texts = []
    for path in paths[:limit]:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return texts


def build_default(out: str | Path = DEFAULT_DIR, vocab_size: int = 16384) -> CodeTokenizer:
    """The recipe of the shipped tokenizer: BPE, 16,384 ids, min frequency 2, trained on every
    `.py` file of this Python's standard library (deterministic: sorted files, one thread's
    order of merges is fixed by the trainer)."""
    tokenizer = CodeTokenizer.train(stdlib_sources(), vocab_size=vocab_size)
    tokenizer.save(out)
    return tokenizer


if __name__ == "__main__":  # python -m codelm.core.tokenizer: rebuild the shipped tokenizer
    build_default()
