"""The training set of the frozen-encoder docstring model: which corpus records, which target.

Selection (`select_records`), deterministic and independent of file order: documented
functions only; none whose code or (name, docstring) is also a held-out function's (the
benchmark's packages are excluded from the corpus by path, this catches copies elsewhere);
at most `per_package` functions of any one top-level package of site-packages (torch, sympy
and transformers alone would otherwise be a third of the data), chosen by record id (a sha1,
so a fixed pseudo-random sample); every standard-library function is kept.

Target (`summary`): the docstring's first sentence, as the model should write it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable, Sequence

PER_PACKAGE = 800
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`'\"])")


def package_of(path: str) -> str:
    """The top-level package of a corpus record's path ("site-packages/torch/nn/x.py" -> "torch";
    a standard-library path "python3.11/json/decoder.py" -> "json")."""
    parts = path.split("/")
    return parts[1].removesuffix(".py") if len(parts) > 1 else parts[0].removesuffix(".py")


def summary(docstring: str) -> str:
    """The first sentence of a docstring summary, on one line."""
    text = " ".join(docstring.split())
    return _SENTENCE_END.split(text, maxsplit=1)[0] if text else ""


def select_records(records: Iterable[dict], per_package: int = PER_PACKAGE,
                   held_out: Sequence[dict] = ()) -> list[dict]:
    """Documented records kept for training (see the module docstring), in input order."""
    banned_ids = {r["id"] for r in held_out}
    banned_pairs = {(r["name"], r["nl"]) for r in held_out}
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r.get("nl") and r["id"] not in banned_ids and (r["name"], r["nl"]) not in banned_pairs:
            groups[(r["path"].split("/")[0] == "site-packages", package_of(r["path"]))].append(r)
    keep: set[str] = set()
    for (site, _), rows in groups.items():
        chosen = sorted(rows, key=lambda r: r["id"])[:per_package] if site else rows
        keep.update(r["id"] for r in chosen)
    return [r for rows in groups.values() for r in rows if r["id"] in keep]
