"""Identifier splitting, BM25 tokens and the embedded text of a unit."""

import pytest

from indexers.text import code_tokens, name_words, split_identifier, unit_text
from indexers.units import CodeUnit


@pytest.mark.parametrize("name, parts", [
    ("snake_case_name", ["snake", "case", "name"]),
    ("camelCase", ["camel", "case"]),
    ("HTTPServer", ["http", "server"]),
    ("getHTTP2Response", ["get", "http", "2", "response"]),
    ("parseXMLFile", ["parse", "xml", "file"]),
    ("__init__", ["init"]),
    ("utf8Decode", ["utf", "8", "decode"]),
    ("ABC", ["abc"]),
    ("x", ["x"]),
])
def test_split_identifier(name, parts):
    assert split_identifier(name) == parts


def test_code_tokens_keep_subwords_and_whole_identifiers_without_keywords_or_punctuation():
    tokens = code_tokens("def read_config(self, path): return HTTPServer(path)  # load!")
    assert tokens == ["read", "config", "read_config", "path", "http", "server", "httpserver",
                      "path", "load"]


def test_code_tokens_of_prose_drop_stop_words():
    assert code_tokens("Return the number of edges in the graph.") == ["number", "edges", "graph"]


def _unit(**kw) -> CodeUnit:
    base = dict(path="pkg/config_loader.py", name="ConfigLoader.read_file", kind="method",
                language="python", start_line=1, end_line=3,
                code="def read_file(self, path):\n    return open(path).read()\n",
                signature="def read_file(self, path)", docstring="", body="return open(path).read()")
    return CodeUnit(**{**base, **kw})


def test_readable_name_splits_each_part():
    assert name_words(_unit().name) == "config loader read file"


def test_unit_text_has_the_name_in_words_the_signature_and_the_body():
    text = unit_text(_unit())
    assert text.startswith("config loader read file")
    assert "def read_file(self, path)" in text and "return open(path).read()" in text


def test_unit_text_includes_the_docstring_when_there_is_one():
    assert "Read the whole file." in unit_text(_unit(docstring="Read the whole file."))


def test_unit_text_keeps_only_the_start_of_a_long_body():
    text = unit_text(_unit(body="x = 1\n" * 10_000))
    assert len(text) < 3_000
