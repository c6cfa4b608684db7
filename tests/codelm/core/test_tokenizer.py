"""The code tokenizer: lossless round trips, whitespace tokens, special tokens."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from codelm.core.tokenizer import SPECIAL, CodeTokenizer, default_tokenizer, stdlib_sources

TOK = default_tokenizer()


def _roundtrip(text: str) -> None:
    assert TOK.decode(TOK.encode(text)) == text


@st.composite
def python_like(draw):
    """Lines of Python-ish statements with nested blocks, odd indentation and blank lines."""
    lines, depth = [], 0
    for _ in range(draw(st.integers(0, 25))):
        depth = max(0, depth + draw(st.integers(-2, 1)))
        indent = draw(st.sampled_from(["    " * depth, "\t" * depth, "  " * depth, " " * draw(st.integers(0, 9))]))
        stmt = draw(st.sampled_from(["def f(x, y=1):", "return x", "if a <= b:", "pass", "x = 'é\\t' + \"<indent>\"",
                                     "", "   ", "class A(B):", "# <newline> comment", "y = {1: [2, (3,)]}",
                                     "print(<mask>)", "\u2028odd\x0c", "s = '''\n'''"]))
        lines.append(indent + stmt + draw(st.sampled_from(["", " ", "\r", "\t"])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n", "\r\n"]))


@settings(max_examples=300, deadline=None)
@given(python_like())
def test_roundtrip_python_like(text):
    _roundtrip(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_roundtrip_any_text(text):
    _roundtrip(text)


def test_roundtrip_standard_library_files():
    texts = stdlib_sources()
    for text in random.Random(0).sample(texts, 150):
        _roundtrip(text)


def test_whitespace_tokens_mark_blocks():
    ids = TOK.encode("def f(x):\n    if x:\n        return 1\n\n    return 2")
    tokens = [TOK.tok.id_to_token(i) for i in ids]
    assert tokens.count("<indent>") == 2 and tokens.count("<dedent>") == 1
    assert tokens.count("<newline>") == 4
    assert tokens[tokens.index("<dedent>") - 1] == "<newline>"  # the blank line costs no dedent


def test_special_tokens_are_single_ids():
    for name in SPECIAL:
        if name not in ("<newline>", "<indent>", "<dedent>"):
            assert TOK.encode(name) == [TOK.token_id(name)], name
    ids = TOK.encode("<line> 3 <state> x : 1 <dictsep> y : 2 </state>")
    for name in ("<line>", "<state>", "<dictsep>", "</state>"):
        assert TOK.token_id(name) in ids
    assert TOK.decode(ids) == "<line> 3 <state> x : 1 <dictsep> y : 2 </state>"


def test_marker_names_in_text_stay_text():
    ids = TOK.encode("s = '<newline><indent>'")
    assert TOK.newline_id not in ids and TOK.indent_id not in ids


def test_add_special_and_skip():
    ids = TOK.encode("x = 1", add_special=True)
    assert ids[0] == TOK.cls_id and ids[-1] == TOK.eos_id
    assert TOK.decode(ids, skip_special=True) == "x = 1"


def test_batch_equals_single_and_save_load(tmp_path):
    texts = ["def f():\n    return 1\n", "x <mask> y", "", "\tz\n"]
    assert TOK.encode_batch(texts) == [TOK.encode(t) for t in texts]
    loaded = CodeTokenizer.load(TOK.save(tmp_path / "tok"))
    assert [loaded.encode(t) for t in texts] == [TOK.encode(t) for t in texts]


def test_train_small_tokenizer():
    tok = CodeTokenizer.train(["def add(a, b):\n    return a + b\n"] * 20, vocab_size=400)
    assert tok.vocab_size <= 400 and tok.pad_id == 1
    assert tok.decode(tok.encode("def sub(a, b):\n    return a - b\n")) == "def sub(a, b):\n    return a - b\n"
