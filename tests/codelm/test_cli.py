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


def test_help_names_each_default_once():
    for path, parser in _leaves(build_parser()):
        text = parser.format_help()
        assert "(default: None)" not in text and "(default: [])" not in text and "(default: False)" not in text, path
        assert "(default 20) (default: 20)" not in text, path


def test_old_command_names_stay_as_aliases():
    parser = build_parser()
    new = parser.parse_args(["predict", "trace", "p.py", "--model", "m"])
    old = parser.parse_args(["predict-trace", "p.py", "--model", "m"])
    assert new.func is old.func and (new.file, new.model) == (old.file, old.model) == ("p.py", "m")


def test_ls_lists_recipes_objectives_and_presets(codelm_cli):
    import json

    proc = codelm_cli("ls", "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert set(found["recipes"]) == {"pretrain", "docstring", "search", "rerank", "trace"}
    assert {"mlm", "rtd", "seq2seq", "span", "contrastive", "rerank", "trace"} <= set(found["objectives"])
    assert {"tiny", "small", "base"} <= set(found["presets"]) and "minilm-code" in found["models"]
    assert all(line and "\n" not in line for section in found.values() for line in section.values())
    text = codelm_cli("ls").stdout
    assert text.startswith("recipes:\n") and "  mlm+rtd" not in text and "  contrastive  " in text
