"""`codelm index` and `codelm search` as the contract says: JSON shapes, batch mode, exit codes."""

import json

import pytest


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    from tests.conftest import run_codelm

    root = tmp_path_factory.mktemp("repo")
    (root / "util.py").write_text('def parse_duration(text):\n    """Parse 1h30m into seconds."""\n    return 0\n\n\n'
                                  'def slugify(title):\n    return title.lower().replace(" ", "-")\n')
    (root / "blob.py").write_bytes(b"\x00\x01binary")
    proc = run_codelm("index", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    return root, json.loads(proc.stdout)


def test_index_json_summary(indexed):
    _, summary = indexed
    assert set(summary) == {"files", "units", "embedded", "skipped", "seconds"}
    assert (summary["files"], summary["units"], summary["embedded"]) == (1, 2, 2)
    assert summary["skipped"] == [{"path": "blob.py", "reason": "binary"}]


def test_search_json_and_batch(indexed, codelm_cli, tmp_path):
    root, _ = indexed
    proc = codelm_cli("search", "turn a title into a url slug", "--index", str(root / ".codelm"), "-k", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["query"] == "turn a title into a url slug" and out["results"][0]["name"] == "slugify"
    assert out["results"][0]["path"] == "util.py" and out["results"][0]["start_line"] == 6
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "parse a duration"}\nslugify a title\n')
    proc = codelm_cli("search", "--queries", str(queries), "--index", str(root / ".codelm"), "-k", "2", "--json")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["parse a duration", "slugify a title"]
    assert lines[0]["results"][0]["name"] == "parse_duration"


def test_bad_input_exit_codes(indexed, codelm_cli, tmp_path):
    root, _ = indexed
    proc = codelm_cli("index", str(tmp_path / "missing"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "does not exist" in proc.stderr
    proc = codelm_cli("index", str(root / "util.py"))
    assert proc.returncode == 1 and "is a file" in proc.stderr
    proc = codelm_cli("search", "x", "--index", str(tmp_path / "none"))
    assert proc.returncode == 1 and "codelm index" in proc.stderr and "Traceback" not in proc.stderr
    proc = codelm_cli("search", "--index", str(root / ".codelm"))
    assert proc.returncode == 2
    proc = codelm_cli("search", "   ", "--index", str(root / ".codelm"))
    assert proc.returncode == 2 and "empty query" in proc.stderr


def test_human_output_and_broken_indexes(indexed, codelm_cli, tmp_path):
    import re

    root, _ = indexed
    proc = codelm_cli("search", "slugify a title", "--index", str(root / ".codelm"), "-k", "2", "--no-snippet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and all(re.fullmatch(r"util\.py:\d+-\d+  \w+  \(function, -?\d+\.\d{3}\)", x) for x in lines)
    assert lines[0].startswith("util.py:6-7  slugify  ")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.sqlite").write_bytes(b"not sqlite at all" * 300)
    proc = codelm_cli("search", "x", "--index", str(broken), "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: no usable index") and "codelm index" in proc.stderr
    proc = codelm_cli("index", str(root), "--model", str(tmp_path / "other-model"))
    assert proc.returncode == 1 and "built with model 'minilm-code'" in proc.stderr and "--rebuild" in proc.stderr


def test_search_from_a_subfolder_finds_the_index_above(indexed, codelm_cli, tmp_path):
    root, _ = indexed
    sub = root / "pkg" / "deep"
    sub.mkdir(parents=True, exist_ok=True)
    proc = codelm_cli("search", "turn a title into a url slug", "-k", "1", "--json", cwd=sub)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["results"][0]["name"] == "slugify"
    proc = codelm_cli("search", "turn a title into a url slug", "--tests", "only", "--json", cwd=sub)
    assert proc.returncode == 0 and json.loads(proc.stdout)["results"] == []  # no tests in this repository
    proc = codelm_cli("index", "--json", cwd=sub)  # no PATH: updates the index found above
    assert proc.returncode == 0, proc.stderr
    assert (json.loads(proc.stdout)["units"], json.loads(proc.stdout)["embedded"]) == (2, 0)
    for command in (["search", "slug"], ["mcp"], ["show", "util.py:slugify"], ["index"]):
        proc = codelm_cli(*command, cwd=tmp_path)  # no .codelm here nor above
        assert proc.returncode == 1 and proc.stderr.startswith("error: no index found"), command
        assert "codelm index" in proc.stderr


def test_index_of_no_source_files_fails_and_creates_nothing(codelm_cli, tmp_path):
    proc = codelm_cli("index", str(tmp_path))
    assert proc.returncode == 1 and proc.stderr.startswith("error: no source files found under")
    assert not (tmp_path / ".codelm").exists()


def test_text_results_show_a_plain_snippet_when_piped(indexed, codelm_cli):
    root, _ = indexed
    proc = codelm_cli("search", "slugify a title", "--index", str(root / ".codelm"), "-k", "1")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("util.py:6-7  slugify  (function, ")
    assert lines[1:] == ["    def slugify(title):", '        return title.lower().replace(" ", "-")', ""]
    assert "\x1b[" not in proc.stdout


def test_show_by_name_and_by_id(indexed, codelm_cli):
    root, _ = indexed
    index = str(root / ".codelm")
    proc = codelm_cli("show", "util.py:slugify", "--index", index)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == 'util.py:6-7  slugify  (function)\ndef slugify(title):\n    return title.lower().replace(" ", "-")\n'
    found = json.loads(codelm_cli("search", "slugify", "--index", index, "-k", "1", "--json").stdout)["results"][0]
    unit = json.loads(codelm_cli("show", str(found["id"]), "--index", index, "--json").stdout)
    assert (unit["id"], unit["name"], unit["path"], unit["start_line"]) == (found["id"], "slugify", "util.py", 6)
    assert unit["code"].startswith("def slugify(title):")
    proc = codelm_cli("show", "util.py:slugfy", "--index", index)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: no unit util.py:slugfy") and "util.py:slugify" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_damaged_vector_file_is_one_plain_line(indexed, codelm_cli, tmp_path):
    import shutil

    root, _ = indexed
    copy = shutil.copytree(root / ".codelm", tmp_path / "copy")
    next(copy.glob("gen-*/vectors.faiss")).write_bytes(b"\x00" * 100)
    proc = codelm_cli("search", "slug", "--index", str(copy))
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith("error: the index's vector file (") and "is damaged" in proc.stderr
    assert f"`codelm index {root} --index {copy} --rebuild`" in proc.stderr
    assert "faiss::" not in proc.stderr and ".cpp" not in proc.stderr
