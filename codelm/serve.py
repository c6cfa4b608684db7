"""A warm search server: the index and model loaded once, a JSON API and a web page (Starlette).

Searches run on a few worker threads (`SearchPool`), each search on one thread (one query is
too small to split) with its own SQLite connection; the model, FAISS and BM25 are shared, as
all three answer concurrent reads. Part of a search is Python (HTTP, the search's glue), which
threads take turns at: `serve(processes=N)` runs N processes instead (memory: one model and
index each), each answering one query at a time on its event loop's thread.
benchmarks/serve_latency.py measures threads against processes (figures in benchmarks/results/).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from uvicorn.protocols.http.h11_impl import H11Protocol

from codelm.errors import CodelmError
from indexers.testpaths import TESTS_MODES

MAX_QUERY_BYTES = 10_000  # a longer query answers 413
MAX_K = 100  # k above this answers 400 (never clamped silently)
WEB_DIR = Path(__file__).parent / "web"


class ApiError(Exception):
    """An error answered as JSON `{"error": message}` with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def highlight(code: str, language: str, first_line: int = 1) -> str:
    """The code as HTML (pygments, CSS classes under `.hl`), lines numbered from `first_line`."""
    from pygments import highlight as render
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer

    from codelm.tasks.search.show import lexer_for

    lexer = lexer_for(language) or TextLexer()
    return render(code, lexer, HtmlFormatter(cssclass="hl", linenos="inline", linenostart=first_line))


def parse_search(params) -> dict:
    """Validated search arguments from query parameters; raises ApiError (400/413)."""
    query = params.get("q", "")
    if len(query.encode("utf-8")) > MAX_QUERY_BYTES:
        raise ApiError(413, f"query too long: at most {MAX_QUERY_BYTES} bytes")
    if not query.strip():
        raise ApiError(400, "empty query: pass q=what the code should do, or a code snippet")
    try:
        k = int(params.get("k", "10"))
    except ValueError:
        raise ApiError(400, f"k must be an integer from 1 to {MAX_K}") from None
    if not 1 <= k <= MAX_K:
        raise ApiError(400, f"k must be from 1 to {MAX_K}, got {k}")
    checks = params.getlist("check") if hasattr(params, "getlist") else params.get("check", [])
    checks = [checks] if isinstance(checks, str) else [str(c) for c in checks]
    tests = params.get("tests") or "rank"
    if tests not in TESTS_MODES:
        raise ApiError(400, f"tests must be one of {', '.join(TESTS_MODES)}, got {tests!r}")
    return {"query": query, "k": k, "language": params.get("language") or None,
            "path_glob": params.get("path") or None, "checks": checks, "tests": tests}  # the arguments of tasks.search.query.search


async def _json_params(request: Request) -> dict:
    """POST /search takes the same parameters as a JSON object (for long code snippets)."""
    if int(request.headers.get("content-length") or 0) > 4 * MAX_QUERY_BYTES:
        raise ApiError(413, f"request too large: a query is at most {MAX_QUERY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > 4 * MAX_QUERY_BYTES:
            raise ApiError(413, f"request too large: a query is at most {MAX_QUERY_BYTES} bytes")
    try:
        params = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, 'POST /search takes a JSON object such as {"q": "...", "k": 10}') from None
    if not isinstance(params, dict):
        raise ApiError(400, 'POST /search takes a JSON object such as {"q": "...", "k": 10}')
    return {key: value if key == "check" and isinstance(value, list) else str(value)
            for key, value in params.items() if value is not None}


class SearchPool:
    """Searches on `workers` threads, each with a LiveSearcher of its own (opened on its first
    call), so searches run in parallel and each follows re-indexing.

    `workers=0` runs each search at once on the calling thread, for a process that answers one
    query at a time (one of serve's processes): there the hop to a thread and back only costs
    CPU (benchmarks/serve_latency.py measures both)."""

    def __init__(self, index_dir: str | Path, workers: int | None = None, rerank: bool | str | None = None) -> None:
        if workers is None:
            workers = min(4, os.cpu_count() or 1)  # default: one per core, up to 4
        self.index_dir, self.rerank = index_dir, rerank
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="codelm-search") if workers else None
        self.local = threading.local()
        self.meta = self.submit(lambda s: s.meta).result()  # loads now: a bad index fails at start
        self.submit(lambda s: s.warm()).result()  # the query sessions open now, not at the first query

    def _call(self, fn: Callable):
        if not hasattr(self.local, "live"):
            from indexers.live import LiveSearcher

            self.local.live = LiveSearcher(self.index_dir, self.rerank)
        return self.local.live.call(fn)

    def submit(self, fn: Callable) -> Future:
        """`fn(searcher)` on a worker (or at once, without workers), on a consistent snapshot of
        the newest generation."""
        if self.executor is not None:
            return self.executor.submit(self._call, fn)
        future: Future = Future()
        try:
            future.set_result(self._call(fn))
        except Exception as err:  # noqa: BLE001 - handed to the caller, as a worker's would be
            future.set_exception(err)
        return future

    def search(self, query: str, k: int = 10, language: str | None = None, path_glob: str | None = None,
               tests: str = "rank") -> list[dict]:
        """What `verified_search` needs of a Searcher."""
        return self.submit(lambda s: s.search(query, k, language, path_glob, tests=tests)).result()


def create_app(index_dir: str | Path, workers: int | None = None, rerank: bool | str | None = None) -> Starlette:
    """The ASGI app serving the index at `index_dir` on `workers` search threads; the index and
    model load once, here."""
    pool = SearchPool(index_dir, workers, rerank)

    async def run(fn: Callable):
        future = pool.submit(fn)
        return future.result() if future.done() else await asyncio.wrap_future(future)

    async def search(request: Request) -> JSONResponse:
        from codelm.tasks.search.query import search as find

        args = parse_search(await _json_params(request) if request.method == "POST" else request.query_params)
        if args["checks"]:  # seconds of sandbox runs: on a thread of their own, searching through the pool
            from codelm.tasks.search.verified import make_plan

            make_plan(args["checks"])  # bad checks answer 400 before anything runs
            return JSONResponse(await run_in_threadpool(find, pool, **args))
        return JSONResponse(await run(lambda s: find(s, **args)))

    async def unit(request: Request) -> JSONResponse:
        raw = request.path_params["unit_id"]
        if not raw.isdigit() or len(raw) > 18:
            raise ApiError(404, f"no unit with id {raw!r}: ids are the integers /search returns")
        found = await run(lambda s: s.unit(int(raw)))
        if found is None:
            raise ApiError(404, f"no unit with id {raw}: search again, the index may have changed")
        if request.query_params.get("html"):
            found["highlighted"] = highlight(found["code"], found["language"], found["start_line"])
        return JSONResponse(found)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def stats(request: Request) -> JSONResponse:
        from indexers.store import summary

        return JSONResponse(await run(lambda s: summary(s.db, s.index_dir)))

    async def page(request: Request) -> FileResponse:
        return FileResponse(WEB_DIR / "index.html")

    async def highlight_css(request: Request) -> Response:
        from pygments.formatters import HtmlFormatter

        return Response(HtmlFormatter().get_style_defs(".hl"), media_type="text/css")

    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def codelm_error(request: Request, exc: CodelmError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    routes = [Route("/", page), Route("/highlight.css", highlight_css), Route("/search", search, methods=["GET", "POST"]), Route("/units/{unit_id}", unit),
              Route("/health", health), Route("/stats", stats),
              Mount("/static", StaticFiles(directory=WEB_DIR), name="static")]
    app = Starlette(routes=routes, exception_handlers={ApiError: api_error, CodelmError: codelm_error})
    app.state.pool = pool
    return app


_INDEX_ENV, _WORKERS_ENV = "CODELM_SERVE_INDEX", "CODELM_SERVE_WORKERS"  # for serve's processes
_RERANK_ENV = "CODELM_SERVE_RERANK"  # JSON: null, false, or a re-ranker's name or directory


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Send a connection's writes at once (TCP_NODELAY). uvicorn's processes accept on a socket
    made without the TCP protocol number, so asyncio leaves Nagle's algorithm on there: a
    response's body then waits for the ACK of its headers, which a keep-alive client (a browser)
    delays by 40 ms, on every request."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with `no_delay` on each connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        no_delay(transport)
        super().connection_made(transport)


def serve(index_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, workers: int | None = None,
          processes: int = 1, rerank: bool | str | None = None) -> None:
    """Serve the index with uvicorn until interrupted: one process with `workers` search threads,
    or `processes` processes sharing the port, which answer concurrent clients without one
    interpreter lock between them. Each has its own model and index and, unless `workers` says
    otherwise, no search threads: it answers one query at a time on its event loop's thread."""
    import uvicorn

    if processes == 1:
        uvicorn.run(create_app(index_dir, workers, rerank), host=host, port=port, http=NoDelayH11Protocol, log_level="info")
        return
    from indexers import store

    index_dir = Path(index_dir)
    db = store.connect(index_dir)  # a missing or broken index fails here, not in each process
    try:
        store.searchable_meta(db, index_dir)
    finally:
        db.close()
    os.environ[_INDEX_ENV], os.environ[_WORKERS_ENV] = str(index_dir.resolve()), str(workers or 0)
    os.environ[_RERANK_ENV] = json.dumps(rerank)
    uvicorn.run("codelm.serve:app_from_env", factory=True, workers=processes, host=host, port=port,
                http=NoDelayH11Protocol, log_level="info")


def app_from_env() -> Starlette:
    """The app of one of `serve`'s processes: uvicorn starts each afresh and calls this."""
    rerank = json.loads(os.environ.get(_RERANK_ENV) or "null")
    return create_app(os.environ[_INDEX_ENV], int(os.environ[_WORKERS_ENV]), rerank)
