"""The trace record shared by the tracer, the formats, the datasets and the metrics.

JSON form (docs/traces.md gives the whole specification): `{"path", "status", "stdout",
"error", "steps", "truncated"}`; each step is `{"line": 1-based int, "state": {name: repr}}` plus
`"output"` (what the program printed while that line ran) when it printed something, and
`"function"` (the qualified name of the code it runs in, `<module>` for the module body, without
`<locals>` parts) and `"depth"` (the program's frames below it on the stack) where known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "exception", "timeout", "memory", "blocked", "syntax_error", "too_long")


@dataclass
class Step:
    """One `line` event: the line (1-based), the frame's locals (reprs) after it ran, what it
    printed, and the function it runs in and that frame's call depth (None: not recorded)."""

    line: int
    state: dict[str, str]
    output: str = ""
    function: str | None = None
    depth: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"line": self.line, "state": dict(self.state)}
        if self.output:
            out["output"] = self.output
        if self.function is not None:
            out["function"], out["depth"] = self.function, self.depth
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "Step":
        depth = obj.get("depth")
        return cls(int(obj["line"]), {str(k): str(v) for k, v in obj.get("state", {}).items()},
                   obj.get("output", ""), obj.get("function"), None if depth is None else int(depth))


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
