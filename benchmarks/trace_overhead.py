"""Tracing overhead: traced against untraced time of CPU-bound programs, in the same sandbox.

    python benchmarks/trace_overhead.py [--small] [--repeats N] [--engine c|python ...] [--only NAMES]

Two categories of programs: `small` states (a few ints or short strings per frame: the issue's
target, tracing at most 10x slower) and `big` states (lists, dicts and nested lists whose reprs
are long, or many locals). Per program, runs are interleaved and medians taken:

- `tracing_ratio`: traced / untraced time of the program body only (inside the child,
  `time.perf_counter` around `exec`, measured the same way for both runs): the tracer's cost;
- `end_to_end_ratio`: the same with the child's start-up, the sandbox, sending the trace and
  parsing it in the parent (`trace_source` against an untraced sandbox run); `startup_s` is the
  untraced run's time outside the program body;
- `null_tracer_ratio`: a trace function that records nothing, against no tracing, in this
  process (the floor of any `sys.settrace` tracer).

Both of the recorder's trace functions are timed side by side, interleaved: `c` (the default,
`tracer/_ctrace.c`) and `python` (the fallback where the extension is not built); `--engine`
picks one.
Prints one JSON object; per category, the median and maximum of each ratio. Timings are wall
clock: noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracer.sandbox import Limits, run_in_sandbox  # noqa: E402
from tracer.trace import read_trace  # noqa: E402

FILENAME = "/bench/prog.py"
PROGRAMS = {  # name: (category, source template, (n for --small, n))
    "fib": ("small", "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"
            "r = fib({n})\n", (17, 21)),
    "loop": ("small", "total = 0\nfor i in range({n}):\n    total += i * i\n", (20_000, 200_000)),
    "loop_fn": ("small", "def squares(n):\n    total = 0\n    for i in range(n):\n        total += i * i\n"
                "    return total\nr = squares({n})\n", (20_000, 200_000)),
    "collatz": ("small", "def steps(n):\n    count = 0\n    while n != 1:\n        if n % 2 == 0:\n"
                "            n //= 2\n        else:\n            n = 3 * n + 1\n        count += 1\n"
                "    return count\nbest = 0\nfor k in range(1, {n}):\n    best = max(best, steps(k))\n",
                (300, 3000)),
    "primes": ("small", "def is_prime(n):\n    if n < 2:\n        return False\n    d = 2\n    while d * d <= n:\n"
               "        if n % d == 0:\n            return False\n        d += 1\n    return True\n"
               "count = 0\nfor k in range({n}):\n    if is_prime(k):\n        count += 1\n", (2000, 20000)),
    "caesar": ("small", "def shift(text, k):\n    out = ''\n    for ch in text:\n"
               "        out += chr((ord(ch) - 97 + k) % 26 + 97)\n    return out\nword = 'tracing'\n"
               "for k in range({n}):\n    word = shift(word, k)\n", (500, 5000)),
    "sort": ("big", "import random\nrandom.seed(0)\nxs = [random.randrange(1000) for _ in range({n})]\n"
             "for i in range(1, len(xs)):\n    key = xs[i]\n    j = i - 1\n"
             "    while j >= 0 and xs[j] > key:\n        xs[j + 1] = xs[j]\n        j -= 1\n    xs[j + 1] = key\n",
             (100, 300)),
    "wordcount": ("big", "words = ['w%d' % (i * 7919 % 211) for i in range({n})]\ncounts = {{}}\n"
                  "for w in words:\n    counts[w] = counts.get(w, 0) + 1\n"
                  "top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]\n", (2000, 20000)),
    "matrix": ("big", "def matmul(a, b):\n    n = len(a)\n    c = [[0] * n for _ in range(n)]\n"
               "    for i in range(n):\n        for j in range(n):\n            s = 0\n"
               "            for k in range(n):\n                s += a[i][k] * b[k][j]\n"
               "            c[i][j] = s\n    return c\n"
               "m = [[(i * j) % 7 for j in range({n})] for i in range({n})]\np = matmul(m, m)\n", (12, 26)),
    "names": ("big", "names = []\nfor i in range({n}):\n    names.append('item-%05d' % i)\n"
              "joined = ','.join(names)\n", (2000, 20000)),
}
BIG_LIMITS = Limits(timeout_s=300, memory_mb=4096, max_steps=10**8, max_result_bytes=1 << 31)


ENTRY = "tracer.recorder:trace_entry"


def _payload(source: str, traced: bool, engine: str) -> dict:
    return {"source": source, "filename": FILENAME, "directory": "/bench",
            "limits": BIG_LIMITS.child_limits(), "trace": traced, "engine": engine}


def child_run(source: str, traced: bool, engine: str) -> tuple[float, float, int]:
    """(body seconds inside the child, wall seconds of the whole sandbox run incl. parsing the
    trace into `Step`s as `trace_source` does, steps)."""
    start = time.perf_counter()
    result = run_in_sandbox(ENTRY, _payload(source, traced, engine), BIG_LIMITS)
    value = result.value
    assert result.status == "ok" and value["status"] == "ok", result
    read_trace(FILENAME, value)
    return value["seconds"], time.perf_counter() - start, len(value["lines"])


def null_tracer_seconds(source: str, traced: bool) -> float:
    """A trace function that records nothing (or none), in this process."""
    code = compile(source, FILENAME, "exec")

    def on_call(frame, event, arg):
        if frame.f_code.co_filename != FILENAME:
            return None

        def on_event(frame, event, arg):
            return on_event
        return on_event
    start = time.perf_counter()
    sys.settrace(on_call if traced else None)
    try:
        exec(code, {"__name__": "__bench__"})
    finally:
        sys.settrace(None)
    return time.perf_counter() - start


def measure(source: str, engines: list[str], repeats: int) -> dict:
    """Interleaved repeats of every kind of run; medians."""
    runs: dict[str, list] = {"plain": [], "null": [], "null_plain": [], **{e: [] for e in engines}}
    for _ in range(repeats):
        runs["plain"].append(child_run(source, False, engines[0]))
        for engine in engines:
            runs[engine].append(child_run(source, True, engine))
        runs["null_plain"].append(null_tracer_seconds(source, False))
        runs["null"].append(null_tracer_seconds(source, True))
    plain_body = statistics.median(r[0] for r in runs["plain"])
    plain_total = statistics.median(r[1] for r in runs["plain"])
    out = {"untraced_s": round(plain_body, 5), "startup_s": round(plain_total - plain_body, 4),
           "null_tracer_ratio": round(statistics.median(runs["null"]) / statistics.median(runs["null_plain"]), 1)}
    for engine in engines:
        body = statistics.median(r[0] for r in runs[engine])
        total = statistics.median(r[1] for r in runs[engine])
        steps = runs[engine][0][2]
        out[engine] = {"steps": steps, "traced_s": round(body, 4), "tracing_ratio": round(body / plain_body, 1),
                      "end_to_end_s": round(total, 3), "end_to_end_ratio": round(total / plain_total, 1),
                      "ns_per_step": round(1e9 * (body - plain_body) / max(steps, 1))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="smaller inputs, fewer repeats")
    parser.add_argument("--repeats", type=int, help="interleaved repeats per program (default 5, --small 3)")
    parser.add_argument("--engine", action="append", choices=["c", "python"],
                        help="trace function to time (repeatable; default both)")
    parser.add_argument("--only", help="comma-separated program names")
    args = parser.parse_args()
    engines = args.engine or ["c", "python"]
    repeats = args.repeats or (3 if args.small else 5)
    names = args.only.split(",") if args.only else list(PROGRAMS)
    report: dict = {"benchmark": "trace_overhead", "small": args.small, "repeats": repeats, "programs": {}}
    for name in names:
        category, template, sizes = PROGRAMS[name]
        n = sizes[0 if args.small else 1]
        report["programs"][name] = {"category": category, "n": n,
                                    **measure(template.format(n=n), engines, repeats)}
    summary: dict = {}
    for category in ("small", "big"):
        rows = [p for p in report["programs"].values() if p["category"] == category]
        for engine in engines if rows else ():
            for key in ("tracing_ratio", "end_to_end_ratio"):
                values = [p[engine][key] for p in rows]
                summary.setdefault(category, {}).setdefault(engine, {})[key] = {
                    "median": statistics.median(values), "max": max(values)}
    report["summary"] = summary
    print(json.dumps(report))


if __name__ == "__main__":
    main()
