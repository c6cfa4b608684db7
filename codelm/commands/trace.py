"""Execution traces (tracer/)."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("trace", "run programs in the sandbox and record their execution", "codelm trace prog.py --json", not_implemented)
    commands.add("trace-eval", "score predicted traces against gold ones", "codelm trace-eval --gold gold.txt --pred pred.txt --json", not_implemented)
    commands.add("dataset trace", "build an execution-trace dataset", "codelm dataset trace --kind singleline --out data/single", not_implemented)
