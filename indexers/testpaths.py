"""Tests, examples, docs and benchmarks: code about the library rather than the library.

A question about what the code does is answered by the library first: by default search
multiplies the fused score of a unit under such a path by `TEST_PENALTY` (mode "rank");
"equal" searches them as any unit, "only" searches nothing else.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from codelm.errors import UsageError

TESTS_MODES = ("rank", "equal", "only")
TEST_PENALTY = 0.7  # a test must score well above the library unit to outrank it
TEST_FOLDERS = {"test", "tests", "testing", "__tests__", "spec", "specs", "example", "examples",
                "doc", "docs", "demo", "demos", "benchmark", "benchmarks"}
TEST_FILES = {"conftest.py"}


def is_test_path(path: str) -> bool:
    """Whether a unit at `path` (relative, forward slashes) is test, example, docs or benchmark
    code: a folder so named, `conftest.py`, `test_*`, `*_test.*` (Python, Go...), `*.test.*` or
    `*.spec.*` (JavaScript, TypeScript)."""
    parts = PurePosixPath(path.lower()).parts
    if any(part in TEST_FOLDERS for part in parts[:-1]):
        return True
    name = parts[-1] if parts else ""
    stem = name.split(".")[0]
    return (name in TEST_FILES or stem in ("test", "tests") or stem.startswith("test_") or stem.endswith("_test")
            or ".test." in name or ".spec." in name)


def check_mode(tests: str) -> str:
    """`tests` when it is one of TESTS_MODES; UsageError saying which are, otherwise."""
    if tests not in TESTS_MODES:
        raise UsageError(f"tests must be one of {', '.join(TESTS_MODES)}, got {tests!r}")
    return tests
