"""The index directory: SQLite rows, FAISS generations, exact vs HNSW, broken-index errors."""

import numpy as np
import pytest

from codelm.errors import CodelmError
from indexers import store
from indexers.search import Searcher
from indexers.units import CodeUnit

DIM = 8


def _fill(index_dir, n, generation=1, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    db = store.connect(index_dir, create=True)
    db.execute("BEGIN")
    db.execute("DELETE FROM units")
    for i in range(n):
        unit = CodeUnit(f"m{i % 3}.py", f"func_{i}", "function", "python", i + 1, i + 2,
                        f"def func_{i}(): pass", f"def func_{i}()", "", "pass")
        db.execute(f"INSERT INTO units ({', '.join(store.UNIT_FIELDS)}, hash, vector) "
                   f"VALUES ({', '.join('?' * 12)})",
                   (*(getattr(unit, f) for f in store.UNIT_FIELDS), unit.content_hash, vectors[i].tobytes()))
    store.write_generation(index_dir, generation, db, DIM)
    store.write_meta(db, model="minilm", dim=DIM, generation=generation, roots=["/r"])
    db.execute("COMMIT")
    return db, vectors


def test_rows_vectors_and_meta_round_trip(tmp_path):
    db, vectors = _fill(tmp_path, 5)
    ids, stored = store.all_vectors(db)
    assert ids.tolist() == [1, 2, 3, 4, 5] and np.array_equal(stored, vectors)
    assert store.read_meta(db) == {"schema_version": store.SCHEMA_VERSION, "model": "minilm", "dim": DIM,
                                   "generation": 1, "roots": ["/r"]}
    row = db.execute(f"SELECT {', '.join(store.UNIT_FIELDS)} FROM units WHERE id = 3").fetchone()
    unit = store.unit_from_row(row)
    assert (unit.name, unit.start_line, unit.path) == ("func_2", 3, "m2.py")


def test_exact_below_threshold_hnsw_above(monkeypatch):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(100, 400, dtype=np.int64)
    exact = store.build_faiss(ids, vectors, DIM)
    monkeypatch.setattr(store, "HNSW_FROM", 200)
    approx = store.build_faiss(ids, vectors, DIM)
    import faiss
    kinds = [type(faiss.downcast_index(i.index)).__name__ for i in (exact, approx)]
    assert kinds == ["IndexFlatIP", "IndexHNSWFlat"]
    _, top_exact = exact.search(vectors[:20], 5)
    _, top_approx = approx.search(vectors[:20], 5)
    assert top_exact[:, 0].tolist() == ids[:20].tolist()  # each vector finds itself, by unit id
    assert np.mean([len(set(a) & set(e)) / 5 for a, e in zip(top_approx, top_exact)]) >= 0.9


def test_new_generation_then_stale_ones_removed(tmp_path):
    _fill(tmp_path, 4, generation=1)
    db, _ = _fill(tmp_path, 6, generation=2, seed=1)
    assert sorted(p.name for p in tmp_path.glob("gen-*")) == ["gen-1", "gen-2"]  # old kept until switched
    store.remove_stale(tmp_path, keep=store.read_meta(db)["generation"])
    assert [p.name for p in tmp_path.glob("gen-*")] == ["gen-2"]
    import faiss
    assert faiss.read_index(str(tmp_path / "gen-2" / "vectors.faiss")).ntotal == 6


def test_missing_or_corrupt_index_says_run_codelm_index(tmp_path):
    with pytest.raises(CodelmError, match=r"no usable index .*missing.*run `codelm index"):
        store.connect(tmp_path / "absent")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / store.DB_NAME).write_bytes(b"\x07garbage" * 500)
    with pytest.raises(CodelmError, match="corrupt database"):
        store.connect(tmp_path / "junk")
    _fill(tmp_path / "idx", 3)
    (tmp_path / "idx" / "gen-1" / "vectors.faiss").write_bytes(b"truncated")
    with pytest.raises(CodelmError) as damaged:
        Searcher(tmp_path / "idx")
    assert str(damaged.value) == (f"the index's vector file ({tmp_path / 'idx' / 'gen-1' / 'vectors.faiss'}) is "
                                  f"damaged: rebuild the index with `codelm index /r --index {tmp_path / 'idx'} --rebuild`")
    store.connect(tmp_path / "never", create=True).close()  # a database whose first run never finished
    with pytest.raises(CodelmError, match="never completed"):
        Searcher(tmp_path / "never")


def test_one_writer_at_a_time(tmp_path):
    from codelm.errors import CodelmError
    from indexers import store
    from indexers.index import build_index

    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    index_dir = tmp_path / ".codelm"
    index_dir.mkdir()
    with store.lock(index_dir):
        with pytest.raises(CodelmError, match="another `codelm index`"):
            build_index(tmp_path, progress=False)
