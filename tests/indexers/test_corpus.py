"""The NL-code corpus: records, dedup, split by file, determinism, the command."""

from __future__ import annotations

import json
from pathlib import Path

from indexers.corpus import build_corpus, is_valid_file, read_corpus

MODULE = '''
def add(a, b):
    """Return the sum of two numbers.

    Details that stay out of the NL side.
    """
    return a + b


def helper(x):
    return x * 2


def short(x):
    """Too short."""
    return x


class Box:
    """A box holding one value for later."""

    def get(self):
        """Return the value held in the box."""
        return self.value
'''


def _tree(root: Path, files: int = 12) -> Path:
    root.mkdir()
    for i in range(files):
        (root / f"m{i}.py").write_text(MODULE.replace("a + b", f"a + b + {i}").replace("x * 2", f"x * {i}"))
    (root / "z_copy.py").write_text(MODULE.replace("a + b", "a + b + 0").replace("x * 2", "x * 0"))
    return root


def test_records_and_schema(tmp_path):
    src = _tree(tmp_path / "src", files=1)
    report = build_corpus([src], tmp_path / "out", valid_share=0.0, progress=False)
    records = read_corpus(tmp_path / "out", "train")
    by_name = {r["name"]: r for r in records}
    assert set(by_name) == {"add", "helper", "Box.get"}  # classes and short docstrings left out
    add = by_name["add"]
    assert add["kind"] == "bimodal" and add["nl"] == "Return the sum of two numbers."
    assert '"""' not in add["code"] and add["code"].startswith("def add(a, b):\n    return a + b")
    assert by_name["helper"]["kind"] == "unimodal" and by_name["helper"]["nl"] == ""
    assert add["path"] == "src/m0.py" and add["language"] == "python"
    assert report.short_docstring == 2 and report.duplicates == 3  # z_copy.py repeats m0.py
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["schema"] == 1 and manifest["counts"]["train"] == 3


def test_split_by_file_is_seeded_and_disjoint(tmp_path):
    src = _tree(tmp_path / "src")
    a = build_corpus([src], tmp_path / "a", seed=3, valid_share=0.4, progress=False)
    b = build_corpus([src], tmp_path / "b", seed=3, valid_share=0.4, progress=False)
    assert a.valid > 0 and a.train > 0
    for split in ("train", "valid"):
        assert (tmp_path / "a" / f"{split}-00000.jsonl").read_text() == (tmp_path / "b" / f"{split}-00000.jsonl").read_text()
    train_files = {r["path"] for r in read_corpus(tmp_path / "a", "train")}
    valid_files = {r["path"] for r in read_corpus(tmp_path / "a", "valid")}
    assert not train_files & valid_files
    assert all(is_valid_file(p, 3, 0.4) for p in valid_files)
    ids = [r["id"] for s in ("train", "valid") for r in read_corpus(tmp_path / "a", s)]
    assert len(ids) == len(set(ids))


def test_corpus_command_json(tmp_path, codelm_cli):
    src = _tree(tmp_path / "src", files=3)
    proc = codelm_cli("corpus", str(src), "--out", str(tmp_path / "out"), "--valid-share", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["bimodal"] == 4 and summary["unimodal"] == 3 and summary["train"] == 7  # Box.get is kept once
