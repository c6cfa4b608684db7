"""Index a repository and search it (indexers/)."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("index", "index a repository for search", "codelm index .", not_implemented)
    commands.add("search", "search an index in plain English or by code", "codelm search \"read the config file\"", not_implemented)
