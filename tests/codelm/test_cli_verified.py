"""`codelm search --check`: verified results first, bad checks are usage errors before anything runs."""

import json

import pytest


@pytest.mark.slow
def test_search_check_end_to_end(tmp_path, codelm_cli):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "durations.py").write_text(
        "def parse_duration(text):\n    \"\"\"Parse a duration like 1h30m into seconds.\"\"\"\n    return 0\n\n\n"
        "def duration_seconds(text):\n    total, num = 0, ''\n    for ch in text:\n"
        "        if ch.isdigit():\n            num += ch\n        else:\n"
        "            total += int(num) * {'h': 3600, 'm': 60, 's': 1}[ch]\n            num = ''\n"
        "    return total\n\n\ndef slugify(title):\n    return title.lower().replace(' ', '-')\n")
    assert codelm_cli("index", str(root)).returncode == 0
    index = str(root / ".codelm")
    proc = codelm_cli("search", "parse a duration like 1h30m into seconds", "--index", index, "--json",
                      "--check", "f('1h30m') == 5400", "--check", "f('45s') == 45", "--budget", "30")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    first = out["results"][0]
    assert (first["name"], first["verified"], first["checks_passed"], first["checks_total"]) == \
        ("duration_seconds", True, 2, 2)
    wrong = next(r for r in out["results"] if r["name"] == "parse_duration")
    assert not wrong["verified"] and wrong["failures"][0] == {"check": "f('1h30m') == 5400", "returned": "0"}
    assert sorted(p.name for p in root.iterdir()) == [".codelm", "durations.py"]
    proc = codelm_cli("search", "parse a duration like 1h30m into seconds", "--index", index, "--no-snippet",
                      "--check", "f('1h30m') == 5400", "--candidates", "1", "--budget", "30")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(lines) == 3 and lines[0].endswith("[0/1 checks]")
    assert lines[0].startswith("durations.py:1-3  parse_duration  ")
    assert all(line.endswith("[not run: not among the candidates]") for line in lines[1:])
    assert proc.stderr.strip().splitlines()[-1] == "checks ran on 1 of 1 candidates (--candidates)"


def test_bad_check_is_a_usage_error(tmp_path, codelm_cli):
    proc = codelm_cli("search", "anything", "--index", str(tmp_path / "none"), "--check", "len([]) == 0")
    assert proc.returncode == 2 and "does not use f" in proc.stderr
    assert proc.stdout == ""
    proc = codelm_cli("search", "anything", "--index", str(tmp_path / "none"), "--check", "f(1)", "--budget", "0")
    assert proc.returncode == 2 and "--budget" in proc.stderr
