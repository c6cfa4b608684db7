"""Shared test settings: offline, deterministic, and a way to run the `codelm` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]


def run_codelm(*args: str, cwd: str | Path | None = None, input: str | None = None,
               timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m codelm ARGS` as a user would; returns the completed process (text mode)."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "codelm", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.fixture
def codelm_cli():
    """The `run_codelm` function, as a fixture."""
    return run_codelm
