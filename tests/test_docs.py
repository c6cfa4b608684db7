"""The commands quoted in docs/*.md run as written.

How a page opts in (docs/traces.md is the model):

- Commands go in fenced ```console blocks, one a line, after `$ ` (a line ending in `\\` goes
  on); the lines under a command, up to the next `$ ` line, are its output as shown.
- A block runs when every `codelm` command in it is one that needs no model or index
  (`NO_MODEL`: `codelm trace`, `codelm score trace` or `trace-eval`, `codelm dataset trace`), or when the line
  before the block is `<!-- docs-test: run -->`. `<!-- docs-test: skip -->` keeps it from running.
- `<!-- docs-test: output -->` before a block: each command's stdout must also be the output
  shown (trailing spaces ignored). Use it where the output is deterministic (no timings).

The blocks of one page run in order with bash, in one scratch directory that holds a copy of
`docs/` (so `docs/examples/...` paths work and files a command writes stay there), stdin empty
unless the command pipes into `codelm`; `codelm` is this checkout's (`python -m codelm`). Each
command must exit 0.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

DOCS = ROOT / "docs"
NO_MODEL = ("trace", "trace-eval", "score trace", "dataset trace")
_FENCE = re.compile(r"(?:<!-- docs-test: (\w+) -->\n)?```console\n(.*?)```", re.S)


@dataclass
class Command:
    """One `$ ` line of a block and the output shown under it."""

    line: str
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    """A console block: its marker (run, skip, output or None) and its commands."""

    marker: str | None
    commands: list[Command]

    def runs(self) -> bool:
        """Whether the test runs this block (see the module's docstring)."""
        if self.marker in ("run", "skip"):
            return self.marker == "run"
        calls = [m.group(1) for c in self.commands for m in re.finditer(r"\bcodelm ([\w-]+(?: \w+)?)", c.line)]
        return bool(calls) and all(call.startswith(NO_MODEL) for call in calls)


def blocks(text: str) -> list[Block]:
    """The console blocks of a markdown page, in order."""
    out = []
    for match in _FENCE.finditer(text):
        commands: list[Command] = []
        for line in match.group(2).splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:]))
            elif commands and commands[-1].line.endswith("\\"):
                commands[-1].line = commands[-1].line[:-1].rstrip() + " " + line.strip()
            elif commands:
                commands[-1].shown.append(line)
        out.append(Block(match.group(1), commands))
    return out


def test_blocks_are_read_as_documented():
    page = ("<!-- docs-test: output -->\n```console\n$ codelm trace a.py \\\n  --json\n{}\n$ ls\n```\n"
            "```console\n$ codelm search x\n```\n<!-- docs-test: run -->\n```console\n$ codelm search x\n```\n"
            "<!-- docs-test: skip -->\n```console\n$ codelm trace a.py\n```\n")
    found = blocks(page)
    assert [(b.marker, b.runs()) for b in found] == [("output", True), (None, False), ("run", True), ("skip", False)]
    assert [(c.line, c.shown) for c in found[0].commands] == [("codelm trace a.py --json", ["{}"]), ("ls", [])]


PAGES = sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_the_commands_of_a_page_run(page: Path, tmp_path: Path):
    runnable = [b for b in blocks(page.read_text(encoding="utf-8")) if b.runs()]
    if not runnable:
        pytest.skip(f"{page.name} has no runnable console block")
    shutil.copytree(DOCS, tmp_path / "docs")
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    (bin_dir / "codelm").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codelm "$@"\n')
    (bin_dir / "codelm").chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for block in runnable:
        for command in block.commands:
            run = subprocess.run(["bash", "-c", command.line], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=300)
            assert run.returncode == 0, f"{page.name}: `{command.line}` failed:\n{run.stderr}"
            if block.marker == "output":
                got = [line.rstrip() for line in run.stdout.splitlines()]
                assert got == [line.rstrip() for line in command.shown], f"{page.name}: `{command.line}`"
