"""Freshness under `codelm index --watch`: time from saving a file to its new function being searchable.

Indexes a copy of some standard-library packages, starts `codelm index --watch` and `codelm serve`
on that index, then, several times, appends a new function to one file (a one-file change) and
times (a) until the watcher reports the re-index and (b) until GET /search on the running server
returns the function. The baseline in the same run: the same change picked up without a watcher
or server, by `codelm index` then the cold `codelm search` command.

    python benchmarks/watch_latency.py [--small] [--reps N]     # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.serve_latency import percentile, timed_get  # noqa: E402

TARGET_S = 2.0


def new_function(n: int) -> str:
    return (f"\n\ndef frobnicate_widget_{n}(count):\n    \"\"\"Frobnicate widget number {n} count times.\"\"\"\n"
            f"    return [{n}] * count\n")


def found(base: str, n: int) -> bool:
    """Whether the server's top results hold the new function."""
    url = f"{base}/search?q={urllib.parse.quote(f'frobnicate_widget_{n}')}&k=3"
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return any(x["name"] == f"frobnicate_widget_{n}" for x in json.loads(r.read())["results"])
    except Exception:  # noqa: BLE001 - not there yet (or the server is busy reloading)
        return False


class Lines:
    """Lines a child writes to stderr, each with the time it arrived."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.seen: list[tuple[float, str]] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stderr:
            self.seen.append((time.perf_counter(), line))

    def first_after(self, start: float, text: str, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            hits = [t for t, line in list(self.seen) if t >= start and text in line]
            if hits:
                return hits[0]
            time.sleep(0.01)
        return None


def summary(values: list[float]) -> dict:
    return {"p50_s": round(percentile(values, 50), 3), "max_s": round(max(values), 3)} if values else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small repository and fewer repetitions")
    parser.add_argument("--reps", type=int, help="saves to time (default 8, --small 4)")
    args = parser.parse_args()
    from indexers.index import build_index

    reps = args.reps or (4 if args.small else 8)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    packages = ["json"] if args.small else ["json", "email", "http"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    with tempfile.TemporaryDirectory() as tmp:
        repo, index_dir = Path(tmp) / "repo", Path(tmp) / "index"
        for name in packages:
            shutil.copytree(stdlib / name, repo / name, ignore=shutil.ignore_patterns("test*", "__pycache__"))
        report = build_index(repo, index_dir, progress=False)
        target = repo / "json" / "decoder.py"
        codelm = [sys.executable, "-m", "codelm"]
        watcher = subprocess.Popen([*codelm, "index", str(repo), "--index", str(index_dir), "--watch"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines = Lines(watcher)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen([*codelm, "serve", "--index", str(index_dir), "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        indexed, searchable, missed = [], [], 0
        try:
            if lines.first_after(0, "watching", 300) is None:
                raise SystemExit("codelm index --watch did not start")
            while not timed_get(f"{base}/search?q=warm")[1]:
                if server.poll() is not None:
                    raise SystemExit("codelm serve exited")
                time.sleep(0.2)
            time.sleep(1.0)  # the observer is running
            for n in range(reps):
                saved = time.perf_counter()
                with open(target, "a", encoding="utf-8") as f:
                    f.write(new_function(n))
                while not found(base, n) and time.perf_counter() - saved < 60:
                    time.sleep(0.02)
                done = time.perf_counter()
                if done - saved >= 60:
                    missed += 1
                    continue
                searchable.append(done - saved)
                reindexed = lines.first_after(saved, "re-indexed", 5)
                if reindexed is not None:
                    indexed.append(reindexed - saved)
                time.sleep(0.5)  # let the watcher settle before the next save
        finally:
            for proc in (watcher, server):
                proc.terminate()
                proc.wait()
        cold = []
        for n in range(reps, reps + 2):
            with open(target, "a", encoding="utf-8") as f:
                f.write(new_function(n))
            start = time.perf_counter()
            subprocess.run([*codelm, "index", str(repo), "--index", str(index_dir)], env=env, check=True,
                           capture_output=True)
            out = subprocess.run([*codelm, "search", f"frobnicate_widget_{n}", "--index", str(index_dir), "-k", "3",
                                  "--json"], env=env, check=True, capture_output=True, text=True)
            assert f"frobnicate_widget_{n}" in out.stdout
            cold.append(time.perf_counter() - start)
    warm = summary(searchable)
    print(json.dumps({"units": report.units, "files": report.files, "reps": reps, "missed": missed,
                      "save_to_reindexed": summary(indexed), "save_to_searchable_via_serve": warm,
                      "cold_index_then_search": summary(cold), "target_s": TARGET_S,
                      "cold_over_warm_p50": round(percentile(cold, 50) / warm["p50_s"], 1) if warm else None,
                      "note": "timings on shared, loaded CPU cores (2 cores, other jobs running) are noisy"}))


if __name__ == "__main__":
    main()
