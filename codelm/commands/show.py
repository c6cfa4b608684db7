"""Show a unit's code by id or PATH:NAME (indexers/ store, codelm.tasks.search.show)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from codelm.commands.search import add_index_option, index_dir


def register(commands) -> None:
    """Add `show`."""
    p = commands.add("show", "print a unit's code by id or PATH:NAME", "codelm show mathx.py:Matrix.transpose",
                     run_show, description="Prints the code of one unit of the index: give its id (as "
                     "`codelm search --json` results give it) or PATH:NAME, the path relative to the indexed "
                     "root and the qualified name (Class.method, outer.inner).")
    p.add_argument("unit", metavar="ID|PATH:NAME", help="a unit id, or PATH:NAME such as mathx.py:Matrix.transpose")
    add_index_option(p)
    p.add_argument("--json", action="store_true", help="print the unit as JSON (id, root and every field)")


def color_output() -> bool:
    """Whether to colour code: stdout is a terminal and NO_COLOR is not set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def run_show(args: argparse.Namespace) -> int:
    from codelm.tasks.search.show import find_unit, render_code
    from indexers import store

    db = store.connect(index_dir(args))
    try:
        unit = find_unit(db, args.unit)
    finally:
        db.close()
    if args.json:
        print(json.dumps(unit))
    else:
        print(f"{unit['path']}:{unit['start_line']}-{unit['end_line']}  {unit['name']}  ({unit['kind']})")
        print(render_code(unit["code"], unit["language"], color_output()))
    return 0
