"""Warm search latency through HTTP (`codelm serve`) against the cold `codelm search` command.

Indexes a copy of some standard-library packages, starts `codelm serve` on a loopback port
(once per `--workers` value, search threads of one process, default 1 and 2, and once per
`--processes` value, default 2), times a bounded number of GET
/search requests with 1 and with 8 concurrent clients (p50/p99, errors), then the whole
`codelm search` command (model load included) a few times. Clients keep their connection open
between requests, as browsers and HTTP libraries do; the 8 clients are also measured opening a
new connection for each request (`http_8_clients_new_connections`).

    python benchmarks/serve_latency.py [--small] [--units N] [--workers 1,2] [--processes 2] [--rerank off,on]

`--units N` grows the real index to N units without embedding them all (2 CPU cores would take
hours): the real units are copied under `copyK/` paths, each copy's vector the real one plus
Gaussian noise (sigma 0.02 per dimension, renormalised), then FAISS (HNSW above 50,000) and BM25
are rebuilt over all N. The JSON says so (`synthetic_units`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUERIES = ["parse an email address", "read a json file", "send an http request", "join url parts",
           "decode base64 text", "format a date header", "split a string into tokens", "escape html",
           "compute a checksum", "create a temporary directory", "sort a list of records", "open a socket"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed_get(url: str) -> tuple[float, bool]:
    """One request on a new connection: (milliseconds, answered with results)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            ok = r.status == 200 and "results" in json.loads(r.read())
    except Exception:  # noqa: BLE001 - every failure counts as an error
        ok = False
    return (time.perf_counter() - start) * 1000, ok


class KeepAlive:
    """`get` on one open connection per client thread (reopened after a failure)."""

    def __init__(self, base: str) -> None:
        self.address = urllib.parse.urlsplit(base).netloc
        self.local = threading.local()

    def get(self, url: str) -> tuple[float, bool]:
        start = time.perf_counter()
        try:
            if not hasattr(self.local, "conn"):
                self.local.conn = http.client.HTTPConnection(self.address, timeout=60)
            self.local.conn.request("GET", urllib.parse.urlsplit(url)._replace(scheme="", netloc="").geturl())
            r = self.local.conn.getresponse()
            ok = r.status == 200 and "results" in json.loads(r.read())
        except Exception:  # noqa: BLE001 - every failure counts as an error
            self.local.__dict__.pop("conn", None)
            ok = False
        return (time.perf_counter() - start) * 1000, ok


def load(base: str, clients: int, requests: int, keep_alive: bool = True) -> dict:
    urls = [f"{base}/search?q={urllib.parse.quote(QUERIES[i % len(QUERIES)])}&k=10" for i in range(requests)]
    get = KeepAlive(base).get if keep_alive else timed_get
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        out = list(pool.map(get, urls))
    wall = time.perf_counter() - start
    ms = [t for t, _ in out]
    return {"clients": clients, "requests": requests, "errors": sum(not ok for _, ok in out),
            "p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
            "throughput_qps": round(requests / wall, 1)}


def grow_index(index_dir: Path, units: int, sigma: float = 0.02, seed: int = 0) -> int:
    """Copy the index's real units (perturbed vectors, `copyK/` paths) until it holds `units`;
    rebuild FAISS and BM25 as a new generation. Returns the number of synthetic units added."""
    import numpy as np

    from indexers import store

    rng = np.random.default_rng(seed)
    db = store.connect(index_dir)
    meta = store.read_meta(db)
    columns = ("root", *store.UNIT_FIELDS, "hash", "vector")
    real = db.execute(f"SELECT {', '.join(columns)} FROM units ORDER BY id").fetchall()
    added, copy = 0, 0
    db.execute("BEGIN IMMEDIATE")
    while len(real) + added < units:
        copy += 1
        rows = real[:units - len(real) - added]
        vectors = np.stack([np.frombuffer(r[-1], dtype=np.float32) for r in rows])
        vectors = vectors + rng.normal(0, sigma, vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        db.executemany(f"INSERT INTO units ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                       [(r[0], f"copy{copy}/{r[1]}", *r[2:-2], f"{r[-2]}:{copy}", v.tobytes())
                        for r, v in zip(rows, vectors)])
        added += len(rows)
    generation = meta["generation"] + 1
    store.write_generation(index_dir, generation, db, meta["dim"])
    store.write_meta(db, generation=generation)
    db.execute("COMMIT")
    db.close()
    store.remove_stale(index_dir, generation)
    return added


def measure_server(index: Path, workers: int | None, processes: int, env: dict, small: bool,
                   rerank: bool = True) -> dict:
    """Start `codelm serve --processes P [--workers N] [--no-rerank]` on a free loopback port (no
    N: serve's default); 1 and 8 concurrent clients."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    threads = ([] if workers is None else ["--workers", str(workers)]) + ([] if rerank else ["--no-rerank"])
    server = subprocess.Popen([sys.executable, "-m", "codelm", "serve", "--index", str(index), "--port", str(port),
                               "--processes", str(processes), *threads], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        while not timed_get(f"{base}/search?q=warm")[1]:
            if server.poll() is not None:
                raise SystemExit("codelm serve exited")
            time.sleep(0.2)
        n = 40 if small else 200
        load(base, 1, 10)  # warm-up
        return {"http_1_client": load(base, 1, n), "http_8_clients": load(base, 8, n),
                "http_8_clients_new_connections": load(base, 8, n, keep_alive=False)}
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small index and fewer requests")
    parser.add_argument("--units", type=int, help="grow the index to this many units with perturbed copies")
    parser.add_argument("--workers", type=lambda v: [int(w) for w in v.split(",")], default=[1, 2],
                        help="search threads of a one-process server, comma-separated: each is measured (default 1,2)")
    parser.add_argument("--processes", type=lambda v: [int(w) for w in v.split(",")], default=[2],
                        help="server processes (serve's default: no search threads, each process answers on its "
                             "event loop), comma-separated: each is measured (default 2)")
    parser.add_argument("--rerank", type=lambda v: [w == "on" for w in v.split(",")], default=[True],
                        help="re-ranker settings of the one-process servers, comma-separated off/on: each is "
                             "measured (default on, as serve runs)")
    args = parser.parse_args()
    from indexers.index import build_index

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = ["json", "email"] if args.small else ["json", "email", "http", "asyncio", "urllib", "xml", "logging"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        for name in packages:
            shutil.copytree(stdlib / name, repo / name, ignore=shutil.ignore_patterns("test*", "__pycache__"))
        report = build_index(repo, Path(tmp) / "index", progress=False)
        start = time.perf_counter()
        synthetic = grow_index(Path(tmp) / "index", args.units) if args.units else 0
        grow_s = time.perf_counter() - start
        configs = [(w, 1, r) for w in args.workers for r in args.rerank] + \
            [(None, p, True) for p in args.processes if p > 1]
        served = {f"processes={p}" + (f",workers={w}" if w else "") + ("" if r else ",no-rerank"):
                  measure_server(Path(tmp) / "index", w, p, env, args.small, r) for w, p, r in configs}
        cold = []
        for query in QUERIES[:2 if args.small else 3]:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "codelm", "search", query, "--index", str(Path(tmp) / "index"),
                            "--json"], env=env, check=True, capture_output=True)
            cold.append((time.perf_counter() - start) * 1000)
    cold_ms = statistics.median(cold)
    grown = {"synthetic_units": synthetic, "grow_seconds": round(grow_s, 1),
             "synthetic_how": "copies of the real units under copyK/ paths, vectors + N(0, 0.02) noise, renormalised; "
                              "FAISS and BM25 rebuilt over all units"} if synthetic else {}
    print(json.dumps({"units": report.units + synthetic, "real_units": report.units, **grown,
                      "files": report.files, "servers": served,
                      "cold_cli_median_ms": round(cold_ms, 1),
                      "cold_over_warm_p50": round(cold_ms / next(iter(served.values()))["http_1_client"]["p50_ms"], 1),
                      "note": "timings on shared, loaded CPU cores are noisy"}))


if __name__ == "__main__":
    main()
