"""Text-generation metrics: smoothed sentence BLEU-4 as CodeXGLUE's code-to-text evaluator
computes it, ROUGE-L (F1), exact match, and the share of generated Python that parses.

BLEU (Lin & Och 2004 "smoothed" BLEU, as in CodeXGLUE `evaluator/bleu.py`): both texts are
lowercased and split into words and single punctuation marks, then punctuation is split once
more by the MOSES-style rules of that script (notably `_` becomes its own token, so
`parse_config` is three tokens). For n = 1..4, p_n = (matches_n + s) / (candidate n-grams + s)
with s = 0 for n = 1 and s = 1 for n > 1 (matches clipped by the most frequent count in any
reference); BLEU = exp(mean_n log p_n + min(0, 1 - (r + 1) / (c + 1))), c the candidate
length and r the shortest reference length. A corpus score is the mean sentence BLEU x 100.
"""

from __future__ import annotations

import ast
import math
import re
import sys
import textwrap
from collections import Counter
from typing import Iterable, Sequence

_WORDS_AND_MARKS = re.compile(r"\w+|[^\s\w]")
_PUNCT = re.compile(r"([{-~\[-` -&(-+:-@/])")  # the script's punctuation class; no ' , . -
_SPLITS = [(re.compile(r"([^0-9])([.,])"), r"\1 \2 "),  # period/comma not after a digit
           (re.compile(r"([.,])([^0-9])"), r" \1 \2"),  # period/comma not before a digit
           (re.compile(r"([0-9])(-)"), r"\1 \2 ")]       # dash after a digit
_TINY = sys.float_info.min  # keeps log() finite when nothing matches, as the script does


def bleu_tokens(text: str) -> list[str]:
    """CodeXGLUE's tokens of a text: lowercase words and punctuation marks, `_` split off."""
    s = " ".join(_WORDS_AND_MARKS.findall(text.strip().lower()))
    s = s.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    s = _PUNCT.sub(r" \1 ", f" {s} ")
    for pattern, replacement in _SPLITS:
        s = pattern.sub(replacement, s)
    return s.split()


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def sentence_bleu(candidate: str, references: str | Sequence[str], max_n: int = 4) -> float:
    """Smoothed sentence BLEU-4 of `candidate` against one or more references, in [0, 1]."""
    refs = [references] if isinstance(references, str) else list(references)
    hyp = bleu_tokens(candidate)
    ref_tokens = [bleu_tokens(r) for r in refs]
    log_p = 0.0
    for n in range(1, max_n + 1):
        best: Counter = Counter()
        for r in ref_tokens:
            best |= _ngrams(r, n)
        counts = _ngrams(hyp, n)
        matches = sum(min(c, best[g]) for g, c in counts.items())
        guesses = max(len(hyp) - n + 1, 0)
        smooth = 1 if n > 1 else 0
        log_p += math.log(matches + smooth + _TINY) - math.log(guesses + smooth + _TINY)
    ref_len = min(len(r) for r in ref_tokens)
    brevity = min(0.0, 1 - (ref_len + 1) / (len(hyp) + 1))
    return math.exp(log_p / max_n + brevity)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, 1):
            prev_diag, row[j] = row[j], prev_diag + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over `bleu_tokens`: LCS / len as precision and recall, their harmonic mean."""
    hyp, ref = bleu_tokens(candidate), bleu_tokens(reference)
    lcs = _lcs(hyp, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(hyp), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(candidate: str, reference: str) -> bool:
    """Same `bleu_tokens` (so case and spacing do not count)."""
    return bleu_tokens(candidate) == bleu_tokens(reference)


def python_parses(code: str) -> bool:
    """Whether `code` (a function, or an indented body) is valid Python."""
    for text in (code, "def _():\n" + textwrap.indent(textwrap.dedent(code), "    ")):
        try:
            ast.parse(text)
            return True
        except (SyntaxError, ValueError):
            continue
    return False


def text_scores(candidates: Iterable[str], references: Iterable[str]) -> dict[str, float]:
    """Corpus figures in percent: mean smoothed BLEU-4, mean ROUGE-L F1, exact-match rate."""
    pairs = list(zip(candidates, references, strict=True))
    if not pairs:
        return {"bleu": 0.0, "rouge_l": 0.0, "exact_match": 0.0, "count": 0}
    n = len(pairs)
    return {"bleu": 100 * sum(sentence_bleu(c, r) for c, r in pairs) / n,
            "rouge_l": 100 * sum(rouge_l(c, r) for c, r in pairs) / n,
            "exact_match": 100 * sum(exact_match(c, r) for c, r in pairs) / n,
            "count": n}
