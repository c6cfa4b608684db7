"""The README's first commands stay as they are, and it says how to get PyTorch's CPU build."""

from __future__ import annotations

from tests.conftest import ROOT

FIRST_BLOCK = [
    'pip install torch==2.13.0 && pip install . && codelm index . && codelm search "run a program in a sandbox '
    'with limits" -k 5',
    'pip install torch==2.13.0 && pip install -e ".[dev]" && python -m pytest -q',
]


def test_first_bash_block_then_the_cpu_wheel_index():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert block.splitlines() == FIRST_BLOCK
    after = text.split("```bash\n", 1)[1].split("```", 1)[1]
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in after.split("## ")[0]
