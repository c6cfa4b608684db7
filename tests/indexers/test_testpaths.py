"""Tests, examples and docs rank below the library by default; `tests` equal or only."""

from __future__ import annotations

import pytest

from codelm.errors import UsageError
from indexers.index import build_index
from indexers.search import Searcher
from indexers.testpaths import check_mode, is_test_path
from tests.conftest import write_repo

QUERY = "parse a duration such as 1h30m into seconds"
REPO = {
    "durations.py": "def duration_seconds(spec):\n    \"\"\"Seconds in a duration like 1h30m.\"\"\"\n"
                    "    total, number = 0, ''\n    for ch in spec:\n"
                    "        if ch.isdigit():\n            number += ch\n        else:\n"
                    "            total += int(number) * {'h': 3600, 'm': 60, 's': 1}[ch]\n"
                    "            number = ''\n    return total\n",
    "tests/test_durations.py": "def test_parse_duration_into_seconds():\n"
                               "    \"\"\"Parse a duration such as 1h30m into seconds.\"\"\"\n"
                               "    assert duration_seconds('1h30m') == 5400\n",
    "strings.py": "def slugify(title):\n    return title.lower().replace(' ', '-')\n",
}


@pytest.mark.parametrize("path", ["tests/test_x.py", "pkg/testing/util.py", "test_x.py", "x_test.go", "conftest.py",
                                  "docs/conf.py", "examples/run.py", "demo/app.js", "benchmarks/bench.py",
                                  "src/app.test.ts", "web/__tests__/a.js", "pkg/tests.py"])
def test_test_paths(path):
    assert is_test_path(path)


@pytest.mark.parametrize("path", ["pkg/testpaths.py", "contest.py", "src/latest.py", "attestation/sign.py",
                                  "pkg/doctor.py", "examples.py"])
def test_library_paths(path):
    assert not is_test_path(path)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    root = write_repo(tmp_path_factory.mktemp("repo"), REPO)
    build_index(root, progress=False)
    return Searcher(root / ".codelm")


def test_library_function_outranks_a_test_that_would_win_without_the_penalty(searcher):
    equal = [r["name"] for r in searcher.search(QUERY, k=2, tests="equal")]
    assert equal == ["test_parse_duration_into_seconds", "duration_seconds"]  # the test wins unpenalised
    ranked = searcher.search(QUERY, k=2)
    assert [r["name"] for r in ranked] == ["duration_seconds", "test_parse_duration_into_seconds"]
    assert set(ranked[0]) == {"id", "path", "name", "kind", "language", "start_line", "end_line", "root", "score"}


def test_only_tests_and_bad_modes(searcher):
    assert [r["path"] for r in searcher.search(QUERY, k=5, tests="only")] == ["tests/test_durations.py"]
    with pytest.raises(UsageError, match="rank, equal, only"):
        check_mode("some")
