"""Schema versions: a v1 index (one root, no root column) is upgraded in place on open, nothing
re-embedded; an index newer than the code is refused with a clear message."""

import sqlite3

import pytest

from codelm.errors import CodelmError
from indexers import store
from indexers.index import build_index
from indexers.search import Searcher


def _downgrade_to_v1(index_dir):
    """Turn a v2 index into exactly what schema 1 stored: files keyed by path, no root column."""
    db = sqlite3.connect(index_dir / store.DB_NAME, isolation_level=None)
    db.executescript("""
        DROP INDEX units_root_path;
        ALTER TABLE units DROP COLUMN root;
        CREATE INDEX units_path ON units(path);
        CREATE TABLE files_v1 (path TEXT PRIMARY KEY, sha1 TEXT NOT NULL);
        INSERT INTO files_v1 SELECT path, sha1 FROM files;
        DROP TABLE files;
        ALTER TABLE files_v1 RENAME TO files;
        UPDATE meta SET value = '1' WHERE key = 'schema_version';
    """)
    db.close()


@pytest.mark.slow  # builds, searches and re-indexes with the model
def test_v1_index_migrates_without_reembedding(tmp_path):
    (tmp_path / "util.py").write_text('def slugify(title):\n    """Turn a title into a URL slug."""\n'
                                      '    return title.lower().replace(" ", "-")\n')
    build_index(tmp_path, progress=False)
    index_dir = tmp_path / ".codelm"
    _downgrade_to_v1(index_dir)
    raw = sqlite3.connect(index_dir / store.DB_NAME)
    assert "root" not in [c[1] for c in raw.execute("PRAGMA table_info(units)")]
    vectors_before = raw.execute("SELECT id, vector FROM units").fetchall()
    raw.close()

    top = Searcher(index_dir).search("make a url slug from a title", k=1)[0]  # search migrates on open
    assert (top["name"], top["path"], top["root"]) == ("slugify", "util.py", str(tmp_path.resolve()))
    db = store.connect(index_dir)
    assert store.schema_version(db) == store.SCHEMA_VERSION == 2
    assert db.execute("SELECT id, vector FROM units").fetchall() == vectors_before
    assert db.execute("SELECT root, path FROM files").fetchall() == [(str(tmp_path.resolve()), "util.py")]
    db.close()
    report = build_index(tmp_path, progress=False)
    assert (report.units, report.embedded) == (1, 0)  # the migrated index is current: nothing re-embedded


def test_connect_migrates_and_refuses_a_newer_index(tmp_path):
    db = store.connect(tmp_path, create=True)
    store.write_meta(db, schema_version=1, roots=["/repo"])
    db.execute("DROP INDEX units_root_path")
    db.execute("ALTER TABLE units DROP COLUMN root")
    db.execute("DROP TABLE files")
    db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, sha1 TEXT NOT NULL)")
    db.execute("INSERT INTO files VALUES ('a.py', 'abc')")
    db.close()
    db = store.connect(tmp_path)
    assert store.schema_version(db) == 2
    assert db.execute("SELECT root, path, sha1 FROM files").fetchall() == [("/repo", "a.py", "abc")]
    store.write_meta(db, schema_version=store.SCHEMA_VERSION + 1)
    db.close()
    with pytest.raises(CodelmError, match="newer than this codelm"):
        store.connect(tmp_path)
    (tmp_path / "repo").mkdir()
    with pytest.raises(CodelmError, match="newer than this codelm"):
        build_index(tmp_path / "repo", tmp_path, progress=False)


def test_index_without_recorded_version_is_v1():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    assert store.schema_version(db) == 1
