"""Indexing and searching with the embedded MiniLM: incremental updates, atomic writes, errors."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from codelm.errors import CodelmError
from indexers.index import build_index
from indexers.search import Searcher
from tests.conftest import REPO_FILES, ROOT, write_repo

@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    root = write_repo(tmp_path_factory.mktemp("repo"))
    report = build_index(root, progress=False)
    assert (report.files, report.units, report.embedded) == (3, 5, 5)
    return Searcher(root / ".codelm")


def test_search_finds_the_right_unit(searcher):
    assert searcher.search("read the configuration file", k=1)[0]["name"] == "load_config"
    top2 = [r["name"] for r in searcher.search("flip rows and columns of a matrix", k=2)]
    assert "Matrix.transpose" in top2 and "Matrix" in top2
    top = searcher.search("listen for HTTP requests", k=4)
    assert top[0]["name"] == "startServer" and top[0]["language"] == "javascript"
    assert [r["score"] for r in top] == sorted((r["score"] for r in top), reverse=True)
    assert set(top[0]) == {"id", "path", "name", "kind", "language", "start_line", "end_line", "root", "score"}


def test_code_query_and_filters(searcher):
    assert searcher.search("a, b = b, a + b", k=1)[0]["name"] == "fibonacci"
    assert {r["language"] for r in searcher.search("server", k=5, language="python")} == {"python"}
    assert {r["path"] for r in searcher.search("config", k=5, path_glob="web/*")} == {"web/server.js"}


def test_incremental_reindex(tmp_path):
    root = write_repo(tmp_path)
    build_index(root, progress=False)
    assert build_index(root, progress=False).embedded == 0  # unchanged: nothing embedded
    (root / "mathx.py").write_text(REPO_FILES["mathx.py"].replace("return a\n", "return b\n"))
    (root / "web/server.js").unlink()
    report = build_index(root, progress=False)
    assert (report.files, report.units, report.embedded) == (2, 4, 1)  # only fibonacci changed
    db = sqlite3.connect(root / ".codelm/index.sqlite")
    assert {p for (p,) in db.execute("SELECT path FROM units")} == {"config.py", "mathx.py"}
    assert [p.name for p in (root / ".codelm").glob("gen-*")] == ["gen-2"]  # the unchanged run wrote no generation


def test_errors(tmp_path):
    with pytest.raises(CodelmError, match="run `codelm index"):
        Searcher(tmp_path / "nothing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "index.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CodelmError, match="corrupt"):
        Searcher(bad)
    root = write_repo(tmp_path / "repo")
    build_index(root, progress=False)
    with pytest.raises(CodelmError, match="--rebuild"):
        build_index(root, model="other-model", progress=False)


def test_no_source_files_is_an_error_and_creates_nothing(tmp_path):
    (tmp_path / "notes.txt").write_text("no code here\n")
    with pytest.raises(CodelmError, match="no source files found under"):
        build_index(tmp_path, progress=False)
    assert not (tmp_path / ".codelm").exists()


def test_repository_emptied_after_indexing_gives_empty_index(tmp_path):
    write_repo(tmp_path)
    build_index(tmp_path, progress=False)
    for rel in REPO_FILES:
        (tmp_path / rel).unlink()
    report = build_index(tmp_path, progress=False)
    assert (report.files, report.units) == (0, 0)
    assert Searcher(tmp_path / ".codelm").search("anything") == []


def test_new_index_is_git_ignored_and_found_from_subfolders(tmp_path):
    from indexers.store import find_index
    from indexers.walk import walk

    write_repo(tmp_path)
    build_index(tmp_path, progress=False)
    assert (tmp_path / ".codelm/.gitignore").read_text().splitlines()[-1] == "*"
    assert find_index(tmp_path / "web") == find_index(tmp_path) == tmp_path.resolve() / ".codelm"
    assert not any(f.rel.startswith(".codelm") for f in walk(tmp_path).files)
    with pytest.raises(CodelmError, match="no index found.*codelm index"):
        find_index(tmp_path.parent)  # no index there nor above


@pytest.mark.slow
def test_killed_index_leaves_previous_index_usable(tmp_path):
    root = write_repo(tmp_path)
    build_index(root, progress=False)
    many = "".join(f"def helper_{i}(x):\n    return x * {i} + len(str(x)) - {i % 7}\n\n" for i in range(200))
    (root / "many.py").write_text(many)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "codelm", "index", str(root)], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = ""
    deadline = time.time() + 120
    while "unit/s" not in seen and time.time() < deadline and proc.poll() is None:
        seen += proc.stderr.read(1)
    assert proc.poll() is None, "indexing ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    results = Searcher(root / ".codelm").search("read the config file", k=10)
    assert results[0]["name"] == "load_config" and len(results) == 5  # the previous index, whole
    report = build_index(root, progress=False)
    assert report.units == 205 and report.embedded == 200


def test_vectors_match_units(searcher):
    ids = [r["id"] for r in searcher.search("anything", k=4)]
    vectors = searcher._vectors(ids)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    stored = dict(searcher.db.execute(f"SELECT id, vector FROM units WHERE id IN ({','.join('?' * len(ids))})", ids))
    assert np.array_equal(vectors, np.stack([np.frombuffer(stored[i], dtype=np.float32) for i in ids]))  # FAISS's copy


def test_lexical_candidates_are_the_best_matches_among_allowed_units(searcher):
    ids = searcher.bm25.ids  # ascending unit ids, aligned with BM25's scores
    scores = np.array([0.5, 0.0, 2.0, 0.5, 1.0], dtype=np.float32)[:len(ids)]
    assert searcher._lexical_top(scores, 10, None) == [ids[2], ids[4], ids[0], ids[3]]  # ties by id, no zeros
    assert searcher._lexical_top(scores, 2, None) == [ids[2], ids[4]]
    # a filter applies before the cut: the weakest match is found when it is the only one allowed
    assert searcher._lexical_top(scores, 1, {int(ids[3]), int(ids[1])}) == [ids[3]]
    assert searcher._lexical_top(scores, 1, {int(ids[1])}) == []
