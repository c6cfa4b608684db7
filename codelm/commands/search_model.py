"""Contrastive training and evaluation of search encoders."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("train search", "train a search encoder (contrastive)", "codelm train search --data corpus --out runs/search", not_implemented)
    commands.add("eval search", "evaluate search encoders (MRR@10, recall, NDCG)", "codelm eval search --data corpus", not_implemented)
