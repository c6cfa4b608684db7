"""`watch`: a saved file's function becomes searchable without re-running `codelm index`."""

import threading
import time

import pytest

from indexers import store
from indexers.index import build_index
from indexers.watch import watch


def _names(index_dir):
    db = store.connect(index_dir)
    try:
        return {n for (n,) in db.execute("SELECT name FROM units")}
    finally:
        db.close()


@pytest.mark.slow  # model loads per re-index
def test_a_saved_file_is_reindexed(tmp_path):
    (tmp_path / "a.py").write_text("def first():\n    return 1\n")
    build_index(tmp_path, progress=False)
    index_dir = tmp_path / ".codelm"
    stop, reports = threading.Event(), []
    thread = threading.Thread(target=watch, args=(tmp_path,), kwargs={"stop": stop, "on_update": reports.append})
    thread.start()
    try:
        time.sleep(0.5)  # the observer is running
        (tmp_path / "b.py").write_text("def second():\n    return 2\n")
        deadline = time.monotonic() + 60
        while "second" not in _names(index_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _names(index_dir) == {"first", "second"}
        (tmp_path / "a.py").unlink()
        while "first" in _names(index_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _names(index_dir) == {"second"}
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    assert reports and reports[-1].units == 1
