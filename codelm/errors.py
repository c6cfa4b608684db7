"""Errors the command line turns into one-line messages (`error: ...`)."""


class CodelmError(Exception):
    """A failure the user can act on; the CLI prints it without a traceback and exits 1."""

    exit_code = 1


class UsageError(CodelmError):
    """Bad arguments or input format; the CLI exits 2."""

    exit_code = 2


def not_implemented(args: object) -> int:
    """Placeholder for a subcommand whose issue has not landed yet."""
    raise CodelmError("not implemented yet")
