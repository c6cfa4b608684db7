"""One index over several roots: unique paths per root, results naming their root, re-index of
the stored roots, roots that overlap, and verified search running each candidate in its own root."""

import json
import sqlite3

import pytest

from codelm.errors import CodelmError
from codelm.tasks.search.verified import CheckPlan, check_candidates
from indexers.index import build_index
from indexers.search import Searcher


def _repos(tmp_path):
    a, b = tmp_path / "alpha", tmp_path / "beta"
    for root, body in ((a, "def add(x, y):\n    return x - y\n"), (b, "def add(x, y):\n    return x + y\n")):
        (root / "pkg").mkdir(parents=True)
        (root / "pkg/calc.py").write_text(body)  # the same path in both roots
    (a / "dates.py").write_text('def parse_date(text):\n    """Parse an ISO date string."""\n    return text\n')
    (b / "net.py").write_text('def open_socket(host, port):\n    """Connect a TCP socket."""\n    return None\n')
    return a.resolve(), b.resolve()


@pytest.mark.slow  # builds and searches an index five times
def test_several_roots_in_one_index(tmp_path):
    a, b = _repos(tmp_path)
    index_dir = tmp_path / "index"
    report = build_index([a, b], index_dir, progress=False)
    assert (report.files, report.units, report.embedded) == (4, 4, 4)
    db = sqlite3.connect(index_dir / "index.sqlite")
    assert sorted(db.execute("SELECT root, path FROM files")) == [
        (str(a), "dates.py"), (str(a), "pkg/calc.py"), (str(b), "net.py"), (str(b), "pkg/calc.py")]
    searcher = Searcher(index_dir)
    assert searcher.meta["roots"] == [str(a), str(b)]
    top = searcher.search("connect a TCP socket", k=1)[0]
    assert (top["name"], top["path"], top["root"]) == ("open_socket", "net.py", str(b))
    adds = {r["root"]: r["path"] for r in searcher.search("add", k=4) if r["name"] == "add"}
    assert adds == {str(a): "pkg/calc.py", str(b): "pkg/calc.py"}

    assert build_index(None, index_dir, progress=False).embedded == 0  # the stored roots, unchanged
    (b / "pkg/calc.py").write_text("def add(x, y):\n    return y + x\n")
    report = build_index([], index_dir, progress=False)
    assert (report.units, report.embedded) == (4, 1)  # only beta's changed file
    report = build_index(a, index_dir, progress=False)  # the roots given replace the stored ones
    assert (report.files, report.units, report.embedded) == (2, 2, 0)
    assert {r["root"] for r in Searcher(index_dir).search("add", k=5)} == {str(a)}


def test_overlapping_or_missing_roots_are_errors(tmp_path):
    a, _ = _repos(tmp_path)
    with pytest.raises(CodelmError, match="is inside"):
        build_index([a, a / "pkg"], tmp_path / "index", progress=False)
    with pytest.raises(CodelmError, match="give the repository"):
        build_index(None, progress=False)
    with pytest.raises(CodelmError, match="records no repository"):
        build_index([], tmp_path / "empty", progress=False)


def test_verified_search_runs_each_candidate_in_its_own_root(tmp_path):
    a, b = _repos(tmp_path)
    results = [{"root": str(root), "path": "pkg/calc.py", "name": "add", "kind": "function", "language": "python",
                "start_line": 1, "end_line": 2, "score": 1.0} for root in (a, b)]
    ranked = check_candidates(a, results, CheckPlan(checks=["f(1, 2) == 3"], budget_s=30.0, workers=2))
    assert [(r["root"], r["verified"]) for r in ranked] == [(str(b), True), (str(a), False)]


@pytest.mark.slow  # two commands, each loading the model
def test_cli_several_roots(tmp_path, codelm_cli):
    a, b = _repos(tmp_path)
    assert codelm_cli("index", str(a), str(b)).returncode == 2  # several roots need --index
    index_dir = tmp_path / "index"
    proc = codelm_cli("index", str(a), str(b), "--index", str(index_dir), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["units"] == 4
    proc = codelm_cli("search", "connect a TCP socket", "--index", str(index_dir), "-k", "1", "--format", "vimgrep")
    assert proc.stdout.strip() == f"{b / 'net.py'}:1:1:open_socket"  # the full path: editors can open it


def _names(index_dir):
    db = sqlite3.connect(index_dir / "index.sqlite")
    try:
        return {(root, name) for root, name in db.execute("SELECT root, name FROM units")}
    finally:
        db.close()


@pytest.mark.slow  # a watcher thread and several re-indexes
def test_watch_and_mcp_reindex_cover_every_root(tmp_path):
    import threading
    import time

    from codelm.mcp_server import IndexService
    from indexers.watch import watch

    a, b = _repos(tmp_path)
    index_dir = tmp_path / "index"
    build_index([a, b], index_dir, progress=False)
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(None, index_dir), kwargs={"stop": stop})  # the stored roots
    thread.start()
    try:
        time.sleep(1.0)  # the model loads and the observers run
        for root, name in ((a, "in_alpha"), (b, "in_beta")):
            (root / f"{name}.py").write_text(f"def {name}():\n    return 1\n")
            deadline = time.monotonic() + 60
            while (str(root), name) not in _names(index_dir) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert (str(root), name) in _names(index_dir)
    finally:
        stop.set()
        thread.join(timeout=60)
    (a / "in_alpha.py").unlink()
    (b / "late.py").write_text("def late():\n    return 2\n")
    report = IndexService(index_dir).reindex(None)  # the MCP tool re-indexes every stored root
    assert report["embedded"] == 1 and (str(b), "late") in _names(index_dir)
    assert (str(a), "in_alpha") not in _names(index_dir) and (str(a), "parse_date") in _names(index_dir)
