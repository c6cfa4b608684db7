"""Shared test settings: offline, deterministic, and a way to run the `codelm` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# property tests draw the same examples on every run: a statistical bound that a rare draw
# breaks (1 run in ~100 of the masking-proportion test did) must not make CI flaky
settings.register_profile("codelm", derandomize=True)
settings.load_profile("codelm")

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]


REPO_FILES = {  # a tiny repository: two Python files and one JavaScript file, five units
    "config.py": 'def load_config(path):\n    """Read the config file and merge defaults."""\n'
                 '    with open(path) as f:\n        return {**DEFAULTS, **json.load(f)}\n',
    "mathx.py": "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n\n"
                "class Matrix:\n    def transpose(self):\n        return [list(r) for r in zip(*self.rows)]\n",
    "web/server.js": "// Start an HTTP server on a port.\nfunction startServer(port) { return http.listen(port); }\n",
}


def write_repo(root: Path, files: dict[str, str] = REPO_FILES) -> Path:
    """Write `files` (relative path -> text) under `root`; returns root."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def run_codelm(*args: str, cwd: str | Path | None = None, input: str | None = None,
               timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m codelm ARGS` as a user would; returns the completed process (text mode).
    `input` is piped to its stdin; without it, stdin is empty (/dev/null)."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    stdin = subprocess.DEVNULL if input is None else None  # never the test runner's own stdin
    return subprocess.run([sys.executable, "-m", "codelm", *args], cwd=cwd, input=input, stdin=stdin,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory) -> Path:
    """Encoders exported to ONNX go to one folder per test session (never the user's cache):
    each model is exported once, by the first test that needs it, and its subprocesses share it."""
    folder = tmp_path_factory.mktemp("codelm-cache")
    os.environ["CODELM_CACHE"] = str(folder)
    return folder


@pytest.fixture
def codelm_cli():
    """The `run_codelm` function, as a fixture."""
    return run_codelm
