"""Docstring generation (PyMT5-style)."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("docstring", "write a docstring for a function", "codelm docstring mod.py --name Parser.parse", not_implemented)
    commands.add("train docstring", "train a docstring model", "codelm train docstring --data corpus --out runs/doc", not_implemented)
    commands.add("eval docstring", "evaluate a docstring model (BLEU-4, ROUGE-L)", "codelm eval docstring --data corpus", not_implemented)
