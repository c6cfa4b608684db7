"""Tracing overhead: traced against untraced time of CPU-bound programs, in the same sandbox.

    python benchmarks/trace_overhead.py [--small]

`run_ratio` times the program body only (inside the child, `time.perf_counter` around `exec`),
the same way for both runs; `end_to_end_ratio` adds process start, the sandbox and parsing the
trace in the parent. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracer.sandbox import Limits, run_in_sandbox  # noqa: E402
from tracer.trace import trace_source  # noqa: E402

PROGRAMS = {
    "fib": "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\nr = fib({n})\n",
    "loop": "total = 0\nfor i in range({n}):\n    total += i * i\n",
    "sort": ("import random\nrandom.seed(0)\nxs = [random.randrange(1000) for _ in range({n})]\n"
             "for i in range(1, len(xs)):\n    key = xs[i]\n    j = i - 1\n"
             "    while j >= 0 and xs[j] > key:\n        xs[j + 1] = xs[j]\n        j -= 1\n    xs[j + 1] = key\n"),
}
SIZES = {"fib": (18, 22), "loop": (20_000, 200_000), "sort": (100, 300)}  # (--small, full)


def body_seconds(source: str, traced: bool, limits: Limits) -> tuple[float, int]:
    payload = {"source": source, "filename": "/bench/prog.py", "directory": "/bench",
               "limits": limits.child_limits(), "trace": traced}
    result = run_in_sandbox("tracer.recorder:trace_entry", payload, limits)
    assert result.status == "ok" and result.value["status"] == "ok", result
    return result.value["seconds"], len(result.value["steps"])


def null_tracer_ratio(source: str) -> float:
    """Context: a trace function that records nothing, against no tracing, in this process."""
    code = compile(source, "/bench/prog.py", "exec")

    def on_call(frame, event, arg):
        if frame.f_code.co_filename != "/bench/prog.py":
            return None

        def on_event(frame, event, arg):
            return on_event
        return on_event

    def timed(tracer) -> float:
        start = time.perf_counter()
        sys.settrace(tracer)
        try:
            exec(code, {"__name__": "__bench__"})
        finally:
            sys.settrace(None)
        return time.perf_counter() - start
    return min(timed(on_call) for _ in range(2)) / min(timed(None) for _ in range(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="smaller inputs, fewer repeats")
    args = parser.parse_args()
    limits = Limits(timeout_s=300, memory_mb=4096, max_steps=10**8, max_result_bytes=1 << 31)
    repeats = 1 if args.small else 3
    report = {"repeats": repeats, "programs": {}}
    for name, template in PROGRAMS.items():
        n = SIZES[name][0 if args.small else 1]
        source = template.format(n=n)
        plain = min(body_seconds(source, False, limits)[0] for _ in range(repeats))
        traced_runs = [body_seconds(source, True, limits) for _ in range(repeats)]
        traced, steps = min(traced_runs)
        start = time.perf_counter()
        run_in_sandbox("tracer.recorder:trace_entry", {"source": source, "filename": "/bench/prog.py",
                       "directory": "/bench", "limits": limits.child_limits(), "trace": False}, limits)
        plain_total = time.perf_counter() - start
        start = time.perf_counter()
        trace = trace_source(source, "/bench/prog.py", limits=limits)
        traced_total = time.perf_counter() - start
        report["programs"][name] = {
            "n": n, "steps": steps, "untraced_s": round(plain, 5), "traced_s": round(traced, 4),
            "run_ratio": round(traced / plain, 1), "steps_per_s": round(steps / traced),
            "end_to_end_untraced_s": round(plain_total, 3), "end_to_end_traced_s": round(traced_total, 3),
            "end_to_end_ratio": round(traced_total / plain_total, 1),
            "null_tracer_ratio": round(null_tracer_ratio(source), 1), "status": trace.status}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
