"""--exclude/--include patterns: stored with the index and reused by the next re-index."""

from indexers import store
from indexers.index import build_index
from tests.conftest import write_repo


def _paths(index_dir):
    db = store.connect(index_dir)
    try:
        return sorted(p for (p,) in db.execute("SELECT DISTINCT path FROM units"))
    finally:
        db.close()


def test_patterns_are_stored_and_reused(tmp_path):
    write_repo(tmp_path, {rel: f"def f_{rel.split('/')[0]}():\n    return 1\n"
                          for rel in ("src/app.py", "gen/models.py", "scripts/tool.py")})
    index_dir = tmp_path / ".codelm"
    build_index(tmp_path, progress=False, exclude=["gen/"])
    assert _paths(index_dir) == ["scripts/tool.py", "src/app.py"]
    (tmp_path / "gen" / "more.py").write_text("def g():\n    return 2\n")
    build_index(tmp_path, progress=False)  # no patterns given: the stored ones apply
    assert _paths(index_dir) == ["scripts/tool.py", "src/app.py"]
    build_index(tmp_path, progress=False, include=["src/"])  # exclude kept, include added
    assert _paths(index_dir) == ["src/app.py"]
    meta = store.read_meta(store.connect(index_dir))
    assert (meta["exclude"], meta["include"]) == (["gen/"], ["src/"])
    build_index(tmp_path, progress=False, exclude=[], include=[])  # cleared
    assert _paths(index_dir) == ["gen/models.py", "gen/more.py", "scripts/tool.py", "src/app.py"]
