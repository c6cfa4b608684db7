"""Serve an index over HTTP and MCP."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("serve", "serve an index over HTTP with a web page", "codelm serve --index .codelm", not_implemented)
    commands.add("mcp", "serve an index to coding agents over MCP (stdio)", "codelm mcp --index .codelm", not_implemented)
