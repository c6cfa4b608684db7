"""`codelm search --format vimgrep|jsonl` and `--threshold`: output for editors."""

from __future__ import annotations

import json

import pytest

from indexers.index import build_index

pytestmark = pytest.mark.slow  # each run of the command loads the model (3 runs)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    (root / "pkg").mkdir()
    (root / "pkg" / "mathx.py").write_text("import math\n\n\ndef fibonacci(n):\n    a, b = 0, 1\n"
                                           "    for _ in range(n):\n        a, b = b, a + b\n    return a\n")
    (root / "pkg" / "text.py").write_text("def shout(s):\n    return s.upper() + '!'\n")
    build_index(root, progress=False)
    return root / ".codelm"


def test_vimgrep_lines_with_threshold(index_dir, tmp_path, codelm_cli):
    queries = tmp_path / "q.txt"
    queries.write_text("fibonacci numbers\nshout in capitals\n")
    r = codelm_cli("search", "--queries", str(queries), "--index", str(index_dir), "-k", "2",
                   "--format", "vimgrep")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "pkg/mathx.py:4:1:fibonacci" and len(lines) == 4
    assert "pkg/text.py:1:1:shout" in lines[2:]
    r = codelm_cli("search", "--queries", str(queries), "--index", str(index_dir), "-k", "2",
                   "--format", "jsonl", "--threshold", "1e9")
    assert r.returncode == 0 and r.stdout == ""  # nothing scores that high


def test_jsonl_one_result_a_line(index_dir, codelm_cli):
    r = codelm_cli("search", "fibonacci numbers", "--index", str(index_dir), "-k", "2", "--format", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 2 and rows[0]["query"] == "fibonacci numbers"
    assert (rows[0]["path"], rows[0]["name"], rows[0]["start_line"]) == ("pkg/mathx.py", "fibonacci", 4)
    assert rows[0]["score"] >= rows[1]["score"]
