"""An MCP server over stdio (the official `mcp` SDK): search an index, show units, re-index, docstrings, trace.

Tool arguments are validated by their type annotations (pydantic, via the SDK); failures the
caller can act on come back as tool errors (`is_error=True` with a one-line message).
"""

from __future__ import annotations

import re
import threading
from functools import wraps
from pathlib import Path
from typing import Annotated, Callable, Literal

from pydantic import Field

from codelm.errors import CodelmError
from indexers.testpaths import TESTS_MODES

MAX_QUERY_CHARS = 10_000
MAX_SOURCE_CHARS = 200_000


class IndexService:
    """One index, searched on the newest generation (`indexers.live.LiveSearcher`, opened on
    first use); thread-safe."""

    def __init__(self, index_dir: str | Path, rerank: bool | str | None = None) -> None:
        self.index_dir, self.rerank = Path(index_dir), rerank
        self._lock = threading.Lock()
        self._live = None
        self._docgen: dict = {}

    def searcher(self):
        """The LiveSearcher (opened, and its encoder warmed, on first use)."""
        from indexers.live import LiveSearcher

        with self._lock:
            if self._live is None:
                self._live = LiveSearcher(self.index_dir, self.rerank)
                self._live.call(lambda s: s.warm())  # an agent asks many queries
            return self._live

    def search(self, query: str, k: int, language: str | None, path: str | None,
               checks: list[str] | None = None, tests: str = "rank") -> dict:
        from codelm.tasks.search.query import search

        return search(self.searcher(), query, k, language, path, checks or (), tests=tests)

    def unit(self, unit_id: int) -> dict:
        found = self.searcher().unit(unit_id)
        if found is None:
            raise CodelmError(f"no unit with id {unit_id}: use an id that search_code returned")
        return found

    def status(self) -> dict:
        from indexers import store

        with self._lock:
            db = store.connect(self.index_dir)
            try:
                return store.summary(db, self.index_dir)
            finally:
                db.close()

    def docstring(self, code: str, model_dir: str | None) -> str:
        """A docstring for `code` from the docstring model (loaded once per directory)."""
        from codelm.tasks.docstring.infer import find_model, generate_docstrings, load_model

        path = find_model(model_dir)
        with self._lock:
            if path not in self._docgen:
                self._docgen = {path: load_model(path)}
            model, tokenizer = self._docgen[path]
            return generate_docstrings(model, tokenizer, [code])[0]

    def reindex(self, path: str | None) -> dict:
        from indexers.index import build_index

        roots = [path] if path else self.status()["roots"]
        if not roots:
            raise CodelmError("the index records no root: pass path, the repository to index")
        for root in roots:
            if not Path(root).is_dir():
                raise CodelmError(f"{root} is not a directory: pass path, the repository to index")
        with self._lock:  # the next search finds the new generation (LiveSearcher)
            return build_index(roots, self.index_dir, progress=False).to_json()


def _tool_errors(fn: Callable) -> Callable:
    """Turn CodelmError (and bad values) into MCP tool errors the caller can read."""
    from mcp.server.mcpserver.exceptions import ToolError

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (CodelmError, ValueError) as err:
            raise ToolError(str(err)) from err
    return wrapper


def create_server(index_dir: str | Path, rerank: bool | str | None = None):
    """The MCP server (an `MCPServer`) for the index at `index_dir`."""
    from mcp.server.mcpserver import MCPServer

    service = IndexService(index_dir, rerank)
    server = MCPServer("codelm", log_level="WARNING", instructions="Search this code index in plain English or by code; "
                       "show a unit's source by id; re-index after edits; write a docstring; trace a Python program.")

    @server.tool()
    @_tool_errors
    def search_code(query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS)],
                    k: Annotated[int, Field(ge=1, le=100)] = 10,
                    language: str | None = None, path: str | None = None,
                    checks: Annotated[list[str] | None, Field(max_length=20)] = None,
                    tests: Literal[TESTS_MODES] = "rank") -> dict:
        """Find functions, methods and classes for a natural-language or code query, best first.
        `language` keeps one language (e.g. python); `path` is a glob on file paths (e.g. src/*).
        `checks` (Python only) are expressions run on the top candidates in a sandbox, `f` standing
        for the candidate, e.g. ["f('1h30m') == 5400"]: candidates passing them all come first.
        `tests`: "rank" (default) puts tests, examples and docs below library code, "equal" searches
        them as any code, "only" searches only them."""
        return service.search(query, k, language, path, checks, tests)

    @server.tool()
    @_tool_errors
    def show_unit(unit_id: Annotated[int, Field(ge=0)]) -> dict:
        """The full source and fields (path, name, lines, signature, docstring) of a unit by id."""
        return service.unit(unit_id)

    @server.tool()
    @_tool_errors
    def index_status() -> dict:
        """What the index holds: units, files, model, schema version, generation, roots."""
        return service.status()

    @server.tool()
    @_tool_errors
    def reindex(path: str | None = None) -> dict:
        """Re-index changed files of every indexed root (or of `path` alone, which then becomes the
        index's one root); only changes are embedded."""
        return service.reindex(path)

    @server.tool()
    @_tool_errors
    def write_docstring(code: Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_CHARS)],
                        model: str | None = None) -> dict:
        """Write a one-line docstring for a function given its source, with a docstring model
        (`model`: a directory from `codelm train docstring`, default the installed one)."""
        return {"docstring": service.docstring(code, model)}

    @server.tool()
    @_tool_errors
    def trace_program(source: Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_CHARS)],
                      stdin: str = "", timeout_s: Annotated[float, Field(gt=0, le=30)] = 5.0) -> dict:
        """Run a Python program in a sandbox and return its line-by-line trace (status, stdout,
        error, steps with the local variables after each line)."""
        from tracer.sandbox import Limits
        from tracer.trace import trace_source

        return trace_source(source, stdin=stdin, limits=Limits(timeout_s=timeout_s)).to_json()

    return server


def tool_summaries() -> list[tuple[str, str]]:
    """(name, first sentence of its description) of each tool the server offers, in its order."""
    import anyio

    tools = anyio.run(create_server(".").list_tools)  # the index is opened on first use: not here
    def first_sentence(text: str) -> str:  # without its parentheses, which help lines do not need
        return re.sub(r"\s*\([^)]*\)", "", " ".join(text.split()).split(". ")[0]).rstrip(".")

    return [(t.name, first_sentence(t.description or "")) for t in tools]


def serve_mcp(index_dir: str | Path, rerank: bool | str | None = None) -> None:
    """Answer MCP over stdin/stdout until the client closes it."""
    if not (Path(index_dir) / "index.sqlite").is_file():
        raise CodelmError(f"no usable index at {index_dir} (missing): run `codelm index PATH --index {index_dir}`")
    create_server(index_dir, rerank).run("stdio")
