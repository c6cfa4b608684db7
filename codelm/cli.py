"""The `codelm` command: argument parsing and error reporting, nothing else.

Each area of the product registers its subcommands from a module in
`codelm/commands/`; every subcommand calls a library function.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Sequence

from codelm import __version__
from codelm.errors import CodelmError

# one module per area; each has `register(commands: Commands) -> None`
COMMAND_MODULES = (
    "codelm.commands.search",
    "codelm.commands.show",
    "codelm.commands.serve",
    "codelm.commands.docstring",
    "codelm.commands.trace",
    "codelm.commands.pretrain",
    "codelm.commands.trace_model",
    "codelm.commands.search_model",
    "codelm.commands.catalog",
)

GROUP_HELP = {
    "train": "train a model for a task (docstring, trace, search)",
    "eval": "evaluate a model on a task (docstring, trace, search)",
    "predict": "predict with a trained model without running anything (trace)",
    "score": "score predictions against gold ones (trace)",
    "dataset": "build a training dataset (trace)",
}


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default once: not where the help already names it, nor for flags
    and options whose default is "not given"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            return text
        return super()._get_help_string(action)


class Commands:
    """Builds the subcommand tree; `add("train docstring", ...)` nests under `train`."""

    def __init__(self, subparsers: argparse._SubParsersAction) -> None:
        self._root = subparsers
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def add(self, name: str, help: str, example: str, func: Callable[[argparse.Namespace], int],
            description: str | None = None, aliases: Sequence[str] = ()) -> "argparse.ArgumentParser":
        """Add a subcommand; `example` is shown in its --help. Returns its parser. Each alias
        (an older name, nested or not) gets a parser with the same arguments."""
        parsers = [self._parser(name, help, example, func, description)]
        for alias in aliases:
            parsers.append(self._parser(alias, f"same as `codelm {name}`", example.replace(name, alias), func,
                                        description))
        return parsers[0] if len(parsers) == 1 else _Same(parsers)

    def _parser(self, name: str, help: str, example: str, func: Callable[[argparse.Namespace], int],
                description: str | None) -> argparse.ArgumentParser:
        *groups, leaf = name.split()
        sub = self._root
        path = ""
        for group in groups:
            path = f"{path} {group}".strip()
            if path not in self._groups:
                gp = sub.add_parser(group, help=GROUP_HELP.get(group, group),
                                    description=GROUP_HELP.get(group, group))
                self._groups[path] = gp.add_subparsers(dest=f"_{group}", metavar="TASK", required=True)
            sub = self._groups[path]
        parser = sub.add_parser(leaf, help=help, description=description or help,
                                epilog=f"example:\n  {example}", formatter_class=_Formatter)
        parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        parser.set_defaults(func=func)
        return parser


class _Same:
    """Several parsers that take the same arguments (a command and its aliases)."""

    def __init__(self, parsers: list[argparse.ArgumentParser]) -> None:
        self.parsers = parsers

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        return [p.add_argument(*args, **kwargs) for p in self.parsers][0]

    def set_defaults(self, **kwargs) -> None:
        for p in self.parsers:
            p.set_defaults(**kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The whole `codelm` argument parser."""
    parser = argparse.ArgumentParser(
        prog="codelm", formatter_class=_Formatter,
        description="Understand code with neural models: index and search a repository in plain "
                    "English, write docstrings, trace programs and build trace datasets.",
        epilog="examples:\n  codelm index . && codelm search \"read the config file\"\n"
               "  codelm trace prog.py --json")
    parser.add_argument("--version", action="version", version=f"codelm {__version__}")
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 1 failure, 2 usage error)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CodelmError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    except Exception as err:  # noqa: BLE001 - the contract: one line, no traceback without --debug
        if args.debug:
            raise
        print(f"error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
