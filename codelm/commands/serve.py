"""Serve an index over HTTP and MCP."""

from __future__ import annotations

import argparse

from codelm.commands.search import add_index_option, add_rerank_option, index_dir, rerank_choice
from codelm.errors import UsageError


def register(commands) -> None:
    """Add this area's subcommands."""
    p = commands.add("serve", "serve an index over HTTP with a web page", "codelm serve --index .codelm",
                     run_serve, description="Loads the index and model once and answers a JSON API "
                     "(/search?q=...&k=..&language=..&path=.., /units/ID, /health, /stats) and a search "
                     "page at /. k is 1..100; queries are at most 10 KB.")
    add_index_option(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free port)")
    p.add_argument("--workers", type=int, help="search threads per process, each answering one query at a "
                   "time (when not given: one per core, up to 4; with --processes: none, each process answering "
                   "one query at a time)")
    p.add_argument("--processes", type=int, default=1, help="server processes sharing the port, each with its "
                   "own copy of the model and index: more answers per second to concurrent clients than "
                   "threads, for more memory (e.g. --processes 2 on 2 cores)")
    add_rerank_option(p)
    p = commands.add("mcp", "serve an index to coding agents over MCP (stdio)", "codelm mcp --index .codelm",
                     run_mcp, description="A Model Context Protocol server on stdin/stdout with these tools:\n"
                     + TOOLS_MARK)
    add_index_option(p)
    add_rerank_option(p)
    p.format_help = lambda: _mcp_help(p)


TOOLS_MARK = "{tools}"  # replaced in `codelm mcp --help` by the server's own list of tools


def _mcp_help(parser: argparse.ArgumentParser) -> str:
    """mcp's help, listing the tools the server offers (asked of the server itself, only when shown)."""
    from codelm.mcp_server import tool_summaries

    tools = "\n".join(f"  {name}: {summary}" for name, summary in tool_summaries())
    return argparse.ArgumentParser.format_help(parser).replace(TOOLS_MARK, tools)


def run_serve(args: argparse.Namespace) -> int:
    from codelm.serve import serve

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535, got {args.port}")
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise UsageError(f"--workers must be from 1 to 64, got {args.workers}")
    if not 1 <= args.processes <= 64:
        raise UsageError(f"--processes must be from 1 to 64, got {args.processes}")
    serve(index_dir(args), args.host, args.port, args.workers, args.processes, rerank_choice(args))
    return 0


def run_mcp(args: argparse.Namespace) -> int:
    from codelm.mcp_server import serve_mcp

    serve_mcp(index_dir(args), rerank_choice(args))
    return 0
