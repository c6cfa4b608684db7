"""Subcommands of `codelm`, one module per area, each with `register(commands)`.

Keep these modules light: import heavy libraries inside the functions they run.
"""

from __future__ import annotations

import argparse


def add_time_budget(parser: argparse.ArgumentParser) -> None:
    """The `--time` option every training command has."""
    parser.add_argument("--time", metavar="DURATION", help="wall-clock budget such as 90s, 60m or 1.5h: training "
                        "stops after the step that crosses it and saves a checkpoint and the model; --resume goes on")


def time_limit(args: argparse.Namespace) -> float | None:
    """Seconds of `--time`, or None when not given."""
    from codelm.train import parse_duration

    return parse_duration(args.time) if args.time else None
