"""The code unit: one function, method or class found in a source file."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class CodeUnit:
    """A function, method or class with its place in the repository.

    `path` is relative to the indexed root with forward slashes; lines are 1-based and
    inclusive; `name` is qualified inside the file (`Class.method`, `outer.inner`);
    `code` is the unit's full source text; `signature`, `docstring` and `body` are its parts
    (empty where a language has none).
    """

    path: str
    name: str
    kind: str  # function | method | class
    language: str
    start_line: int
    end_line: int
    code: str
    signature: str = ""
    docstring: str = ""
    body: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of what is embedded; re-indexing re-embeds a unit only when this changes."""
        key = "\0".join((self.path, self.name, self.kind, self.code))
        return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
