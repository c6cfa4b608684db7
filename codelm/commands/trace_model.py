"""CodeExecutor-style trace prediction."""

from codelm.errors import not_implemented


def register(commands) -> None:
    """Add this area's subcommands."""
    commands.add("train trace", "train a trace-prediction model", "codelm train trace --stages singleline --out runs/trace", not_implemented)
    commands.add("predict-trace", "predict a program's execution trace with a model", "codelm predict-trace prog.py --model runs/trace", not_implemented)
    commands.add("eval trace", "evaluate a trace model with the CodeExecutor metrics", "codelm eval trace --data data/single --model runs/trace", not_implemented)
