"""The command-line contract's common rules: --help with an example, exit codes."""

import pytest

from codelm.cli import build_parser


def _leaves(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield from _leaves(sub, prefix + (name,))
            return
    yield prefix, parser


@pytest.mark.parametrize("path,parser", list(_leaves(build_parser())), ids=lambda x: " ".join(x) if isinstance(x, tuple) else "")
def test_every_command_has_help_with_example(path, parser):
    text = parser.format_help()
    assert "example" in text and "codelm" in text.split("example", 1)[1]


def test_unknown_command_is_usage_error(codelm_cli):
    proc = codelm_cli("no-such-command")
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_version(codelm_cli):
    proc = codelm_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("codelm ")
