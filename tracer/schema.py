"""The trace record shared by the tracer, the formats, the datasets and the metrics.

JSON form (shared/CONTRACT.md): `{"path", "status", "stdout", "error", "steps", "truncated"}`;
each step is `{"line": 1-based int, "state": {name: repr}}` plus `"output"` (what the
program printed while that line ran) when it printed something.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "exception", "timeout", "memory", "blocked", "syntax_error", "too_long")


@dataclass
class Step:
    """One `line` event: the line (1-based) and the frame's locals (reprs) after it ran."""

    line: int
    state: dict[str, str]
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "state": dict(self.state)}
        if self.output:
            out["output"] = self.output
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Step":
        return cls(int(obj["line"]), {str(k): str(v) for k, v in obj.get("state", {}).items()},
                   obj.get("output", ""))


@dataclass
class Trace:
    """What happened when a program ran: status, stdout, error line and the steps."""

    path: str
    status: str
    stdout: str = ""
    error: str | None = None
    steps: list[Step] = field(default_factory=list)
    truncated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "stdout": self.stdout,
                "error": self.error, "steps": [s.to_json() for s in self.steps],
                "truncated": self.truncated}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Trace":
        return cls(obj.get("path", ""), obj["status"], obj.get("stdout", ""), obj.get("error"),
                   [Step.from_json(s) for s in obj.get("steps", [])], bool(obj.get("truncated", False)))
