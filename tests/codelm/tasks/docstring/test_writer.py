"""Normalising generated summaries, and the shipped model end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from codelm.tasks.docstring.data import package_of, select_records, summary
from codelm.core.tokenizer import default_tokenizer
from codelm.tasks.docstring.writer import copy_bias, fallback_summary, identifier_words, normalise

SHIPPED = Path(__file__).resolve().parents[4] / "codelm" / "data" / "docstring"


def test_normalise_one_capitalised_sentence():
    assert normalise("return the value. Raises KeyError") == "Return the value."
    assert normalise("  parse an HTTPServer header,") == "Parse an HTTPServer header."
    assert normalise("", "Run.") == "Run."
    assert normalise("Parameters ---------- n : int", "Initialize the instance.") == "Initialize the instance."
    assert normalise("Load it. Returns ------- x") == "Load it."
    assert normalise("Return some info --- useful") == "Return some info --- useful."


def test_summary_and_fallback():
    assert summary("Open the file.  Then read it.") == "Open the file."
    assert summary("Use e.g. this one") == "Use e.g. this one"
    assert fallback_summary("def parse_config(x):\n    pass\n") == "Parse the config."


def test_identifier_words_of_name_and_parameters():
    code = "    async def parse_HTTPHeader(self, raw_line: Dict[str, int] = None, n=1, *args, **kw) -> int:\n        pass\n"
    assert identifier_words(code) == ["parse", "HTTP", "Header", "raw", "line", "args", "kw"]
    assert identifier_words("def load_file(:\n    pass\n") == ["load", "file"]  # does not parse: the name only



def test_identifier_words_keep_the_users_syntax_warnings_quiet(recwarn):
    assert identifier_words("def load_it(x):\n    return 1if x else 2\n") == ["load", "it"]
    assert not [w for w in recwarn.list if issubclass(w.category, SyntaxWarning)]

def test_copy_bias_marks_the_identifier_tokens():
    tok = default_tokenizer()
    bias = copy_bias(tok, ["def load_config(path):\n    pass\n", "def run():\n    pass\n"], tok.vocab_size, 1.5)
    for word in (" config", " Config", " path", "Load"):
        assert all(bias[0, i] == 1.5 for i in tok.encode(word))
    assert bias[1].count_nonzero() > 0 and bias[1, tok.encode(" config")].sum() == 0
    assert set(bias.unique().tolist()) == {0.0, 1.5}


def test_selection_caps_packages_and_drops_held_out():
    records = [{"id": f"{i:040x}", "nl": "Do a thing here.", "name": f"f{i}", "path": f"site-packages/big/m{i}.py"}
               for i in range(10)]
    records += [{"id": "f" * 40, "nl": "Load a JSON document.", "name": "loads", "path": "python3.11/other/x.py"}]
    held = [{"id": "0" * 40, "name": "loads", "nl": "Load a JSON document."}]
    chosen = select_records(records, per_package=3, held_out=held)
    assert [r["id"] for r in chosen] == [f"{i:040x}" for i in (1, 2, 3)]
    assert package_of("site-packages/torch/nn/x.py") == "torch" and package_of("python3.11/json/d.py") == "json"


@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="no shipped docstring model")
def test_shipped_model_writes_a_docstring(one_thread):
    from codelm.tasks.docstring.infer import find_function, generate_docstrings, load_model

    model, tok = load_model()
    unit = find_function(Path(__file__).resolve().parents[4] / "codelm" / "tasks" / "docstring" / "data.py",
                         "package_of")
    text = generate_docstrings(model, tok, [unit], num_beams=2, max_new_tokens=16)[0]
    assert text and text[0].isupper() and text.endswith(".")


@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="no shipped docstring model")
def test_command_uses_the_shipped_model(tmp_path, codelm_cli):
    import json

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"id": i, "code": c}) + "\n" for i, c in enumerate(
        ["def add(a, b):\n    return a + b\n", "def read_lines(path):\n    return open(path).readlines()\n"])))
    done = codelm_cli("docstring", "--pairs", str(pairs), "--beams", "2", "--max-tokens", "12")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows] == [0, 1] and all(r["docstring"].endswith(".") for r in rows)
