"""Dataset throughput: traced programs per second building SingleLine and Tutorial-style sets.

    python benchmarks/trace_dataset.py [--small]

Builds each set twice in a temporary directory, with 1 worker (the baseline) and with 2, and
prints one JSON object: programs/s for each, the 2-worker speed-up, and (tutorial, with
mutants) records/s. Timings are wall clock and noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracer.datasets import build  # noqa: E402

TUTORIAL = [
    "total = 0\nfor i in range({n}):\n    if i % 3 == 0:\n        total += i * 2\n    else:\n        total -= 1\nprint(total)\n",
    "def fact(n):\n    r = 1\n    while n > 1:\n        r *= n\n        n -= 1\n    return r\nprint([fact(k) for k in range({n})])\n",
    "words = 'the quick brown fox jumps over the lazy dog'.split()\ncounts = {{}}\nfor w in words[:{n}]:\n"
    "    counts[w] = counts.get(w, 0) + 1\nprint(sorted(counts.items()))\n",
    "xs = list(range({n}, 0, -1))\nfor i in range(len(xs)):\n    for j in range(len(xs) - 1 - i):\n"
    "        if xs[j] > xs[j + 1]:\n            xs[j], xs[j + 1] = xs[j + 1], xs[j]\nprint(xs[:3], xs[-1])\n",
]


def _rate(kind: str, root: Path, workers: int, limit: int, src: Path | None = None, mutants: int = 0) -> dict:
    out = root / f"{kind}-{workers}"
    summary = build(kind, out, src=src, mutants=mutants, workers=workers, limit=limit, seed=0, progress=False)
    records = sum(summary["records"].values())
    return {"programs": summary["programs"], "records": records, "seconds": summary["seconds"],
            "programs_per_s": round(summary["programs"] / summary["seconds"], 2),
            "records_per_s": round(records / summary["seconds"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run (fewer programs)")
    args = parser.parse_args()
    n_single, n_tut = (40, 8) if args.small else (300, 24)
    result: dict = {"benchmark": "trace_dataset", "small": args.small}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src = root / "tutorial-src"
        src.mkdir()
        for i in range(n_tut):
            (src / f"prog{i:03d}.py").write_text(TUTORIAL[i % len(TUTORIAL)].format(n=5 + i))
        for kind, limit, mutants, source in (("singleline", n_single, 0, None), ("tutorial", n_tut, 3, src)):
            one = _rate(kind, root, 1, limit, source, mutants)
            two = _rate(kind, root, 2, limit, source, mutants)
            result[kind] = {"workers_1": one, "workers_2": two,
                            "speedup_2_vs_1": round(two["programs_per_s"] / one["programs_per_s"], 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
