"""Errors the command line turns into one-line messages (`error: ...`)."""


class CodelmError(Exception):
    """A failure the user can act on; the CLI prints it without a traceback and exits 1."""

    exit_code = 1


class UsageError(CodelmError):
    """Bad arguments or input format; the CLI exits 2."""

    exit_code = 2

