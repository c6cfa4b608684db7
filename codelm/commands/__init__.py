"""Subcommands of `codelm`, one module per area, each with `register(commands)`.

Keep these modules light: import heavy libraries inside the functions they run.
"""
