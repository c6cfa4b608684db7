"""Docstring generation end to end with a tiny untrained model: the library and the commands."""

from __future__ import annotations

import json
import math

import pytest

from codelm.tasks.docstring.evaluate import evaluate
from codelm.tasks.docstring.infer import docstring_source, find_function, generate_docstrings, load_model
from codelm.errors import CodelmError

SOURCE = '''class Parser:
    def parse(self, text):
        """Parse the text into a tree."""
        tree = Tree(text)
        return tree.root


def add(a, b):
    return a + b
'''


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    rec = lambda name, nl: {"id": name, "kind": "bimodal", "nl": nl, "language": "python", "path": "p/m.py",
                            "name": name, "code": f"def {name}(path):\n    return open(path).read()\n"}
    train = [rec("read_file", "Read the file."), rec("load_config", "Load the config file.")]
    valid = [rec("parse_config", "Parse the config file."), {**rec("helper", ""), "kind": "unimodal"}]
    for split, rows in (("train", train), ("valid", valid)):
        (out / f"{split}-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "manifest.json").write_text(json.dumps({"schema": 1, "shards": {"train": ["train-00000.jsonl"],
                                                                           "valid": ["valid-00000.jsonl"]}}))
    return out


def test_find_function_and_prompt(tmp_path):
    from indexers.corpus import code_without_docstring

    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    unit = find_function(path, "Parser.parse")
    code = code_without_docstring(unit)
    assert code == "def parse(self, text):\n    tree = Tree(text)\n    return tree.root\n"
    prompt = "# target docstring\ndef parse(self, text):\n    tree = Tree(text)\n    return tree.root"
    assert docstring_source(code) == prompt and docstring_source(unit) == prompt  # the unit, unparsed again
    with pytest.raises(CodelmError, match="no function 'parse'"):
        find_function(path, "parse")
    with pytest.raises(CodelmError, match="is a directory"):
        find_function(tmp_path, "parse")
    (tmp_path / "blob.py").write_bytes(b"\x7fELF\x00\x01def parse(): pass\n")
    with pytest.raises(CodelmError, match="blob.py: a binary file"):
        find_function(tmp_path / "blob.py", "parse")
    (tmp_path / "latin.py").write_bytes("# café\ndef parse(): pass\n".encode("latin-1"))
    with pytest.raises(CodelmError, match="latin.py: not UTF-8 text"):
        find_function(tmp_path / "latin.py", "parse")


def test_batched_generation_matches_one_at_a_time(tiny_model_dir, one_thread):
    model, tok = load_model(tiny_model_dir)
    codes = ["def add(a, b):\n    return a + b\n", "def f():\n    x = compute(1, 2, 3)\n    return x * x\n", "x = 1"]
    together = generate_docstrings(model, tok, codes, num_beams=2, max_new_tokens=6, batch_size=3)
    alone = [generate_docstrings(model, tok, [c], num_beams=2, max_new_tokens=6)[0] for c in codes]
    assert len(together) == 3 and all(isinstance(d, str) for d in together)
    # the longest prompt has no padding in the batch: identical to decoding it alone
    assert together[1] == alone[1]


def test_evaluate_scores_model_and_baselines(corpus, tiny_model_dir, one_thread):
    result = evaluate(corpus, tiny_model_dir, num_beams=1, max_new_tokens=4, bodies=True)
    assert 0 <= result["body_parses"] <= 100
    assert result["count"] == 1  # the undocumented valid record is not scored
    # template "parse the config ." vs "parse the config file .": p1 = 4/4, p2 = (2+1)/(3+1),
    # p3 = (1+1)/(2+1), p4 = (0+1)/(1+1): product 1/4; brevity 1 - 6/5 = -0.2
    assert result["template"]["bleu"] == pytest.approx(100 * 0.25 ** 0.25 * math.exp(-0.2))
    assert result["retrieval"]["bleu"] > 0 and 0 <= result["model"]["bleu"] <= 100
    assert evaluate(corpus, with_model=False).keys() == {"split", "count", "template", "retrieval"}


@pytest.mark.slow
def test_docstring_command(tmp_path, tiny_model_dir, codelm_cli):
    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    shipped = codelm_cli("docstring", str(path), "--name", "Parser.parse")  # the model in codelm/data/docstring
    assert shipped.returncode == 0 and shipped.stdout.strip().endswith("."), shipped.stderr
    missing = codelm_cli("docstring", str(path), "--name", "Parser.parse", "--model", str(tmp_path / "none"))
    assert missing.returncode == 1 and "codelm train docstring --data corpus --out runs/doc" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    one = codelm_cli("docstring", str(path), "--name", "add", "--model", str(tiny_model_dir), "--json",
                     "--beams", "1", "--max-tokens", "4")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout).keys() == {"name", "docstring"}
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"id": "a", "code": "def f():\n    pass\n"}) + "\n"
                     + json.dumps({"code": "def g(x):\n    return x\n"}) + "\n")
    out = codelm_cli("docstring", "--pairs", str(pairs), "--model", str(tiny_model_dir), "--json",
                     "--beams", "1", "--max-tokens", "4")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", 1] and all(isinstance(r["docstring"], str) for r in rows)
    bad = codelm_cli("docstring", str(path), "--model", str(tiny_model_dir))
    assert bad.returncode == 2


def test_body_parse_rate_counts_bodies_that_parse(monkeypatch):
    import codelm.tasks.docstring.evaluate as docgen

    prompts = []

    def fake(model, tok, sources, **_):
        prompts.extend(sources)
        return ["    return a + b", "    return (a +"]

    monkeypatch.setattr(docgen, "generate_texts", fake)
    records = [{"code": "def add(a, b):\n    return a + b\n", "nl": "Add two numbers."},
               {"code": "def sub(a, b):\n    return a - b\n", "nl": "Subtract."},
               {"code": "def undocumented(a):\n    return a\n", "nl": ""}]
    assert docgen.body_parse_rate(None, None, records) == 50.0
    assert prompts[0] == '# target body\ndef add(a, b):\n    """Add two numbers."""'


def test_docstring_missing_diff_then_write(tmp_path, tiny_model_dir, codelm_cli):
    import ast

    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    args = ("docstring", str(path), "--missing", "--model", str(tiny_model_dir), "--beams", "1", "--max-tokens", "4")
    diff = codelm_cli(*args, "--diff")
    assert diff.returncode == 0, diff.stderr
    assert path.read_text() == SOURCE and "would write" in diff.stderr
    if diff.stdout:  # an untrained model may say nothing, which writes nothing
        assert diff.stdout.startswith(f"--- a/{path}\n+++ b/{path}\n")
    done = codelm_cli(*args, "--write", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["written"] is True and set(report["docstrings"]) <= {"add", "Parser.parse"}
    ast.parse(path.read_text())
    assert codelm_cli(*args, "--diff", "--write").returncode == 2
    assert codelm_cli("docstring", str(path), "--name", "add", "--force").returncode == 2
