"""Corpus building and CodeBERT-style pretraining."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("corpus", "build an NL-code pair corpus from source trees", "codelm corpus /usr/lib/python3.11 --out corpus", not_implemented)
    commands.add("pretrain", "pretrain a code encoder (mlm, rtd)", "codelm pretrain --objective mlm+rtd --config tiny --data corpus --out runs/pre", not_implemented)
