"""Smoothed BLEU-4, ROUGE-L and exact match against figures worked out by hand."""

from __future__ import annotations

import math

import pytest

from codelm.tasks.docstring.metrics import (bleu_tokens, exact_match, python_parses, rouge_l, sentence_bleu,
                            text_scores)


def test_tokens_follow_the_codexglue_rules():
    assert bleu_tokens("Parse the HTTPServer config.") == ["parse", "the", "httpserver", "config", "."]
    assert bleu_tokens("parse_config(x, y)") == ["parse", "_", "config", "(", "x", ",", "y", ")"]
    assert bleu_tokens("Returns 3.5 items") == ["returns", "3", ".", "5", "items"]


def test_identical_sentence_scores_one():
    # 4 tokens: p1..p4 = 4/4, (3+1)/(3+1), (2+1)/(2+1), (1+1)/(1+1); brevity 1 - 5/5 = 0
    assert sentence_bleu("Parse the config.", "parse the config .") == pytest.approx(1.0)


def test_short_candidate_pays_the_brevity_penalty():
    # candidate 3 tokens, reference 6: every p_n is 1 (p4 = (0+1)/(0+1));
    # brevity = 1 - (6+1)/(3+1) = -0.75 -> exp(-0.75)
    assert sentence_bleu("return the sum", "return the sum of two numbers") == pytest.approx(
        math.exp(-0.75))


def test_partial_match_with_add_one_smoothing():
    # get the value / set the value: p1 = 2/3, p2 = (1+1)/(2+1), p3 = (0+1)/(1+1), p4 = (0+1)/(0+1)
    expected = math.exp((math.log(2 / 3) + math.log(2 / 3) + math.log(1 / 2) + 0) / 4)
    assert expected == pytest.approx(0.68658, abs=1e-5)
    assert sentence_bleu("get the value", "set the value") == pytest.approx(expected)


def test_underscore_is_a_token():
    # [parse, _, config] vs [parse, config]: p1 = 2/3, p2 = (0+1)/(2+1), p3 = (0+1)/(1+1), p4 = 1;
    # product 1/9, fourth root 1/sqrt(3); brevity 1 - 3/4 > 0 -> 0
    assert sentence_bleu("parse_config", "parse config") == pytest.approx(1 / math.sqrt(3))


def test_no_unigram_match_scores_zero_and_multiple_references_clip_by_the_best():
    assert sentence_bleu("foo", "bar") == pytest.approx(0.0, abs=1e-12)
    # the second reference matches exactly; the brevity penalty uses the shortest reference (3)
    assert sentence_bleu("get the value", ["set a value now", "get the value"]) == pytest.approx(1.0)


def test_rouge_l_f1():
    # LCS 3; precision 3/3, recall 3/6 -> F1 = 2 * 1 * .5 / 1.5 = 2/3
    assert rouge_l("return the sum", "return the sum of two numbers") == pytest.approx(2 / 3)
    # LCS of [a, b, c, d] and [a, c, b, d] is 3: P = R = 3/4
    assert rouge_l("a b c d", "a c b d") == pytest.approx(0.75)
    assert rouge_l("x", "y") == 0.0


def test_exact_match_and_corpus_scores():
    assert exact_match("Parse the config.", "parse  the config .")
    assert not exact_match("Parse config.", "parse the config .")
    scores = text_scores(["Parse the config.", "return the sum"],
                         ["parse the config.", "return the sum of two numbers"])
    assert scores["bleu"] == pytest.approx(100 * (1 + math.exp(-0.75)) / 2)
    assert scores["rouge_l"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert scores["exact_match"] == 50.0 and scores["count"] == 2


def test_python_parses_functions_and_bodies():
    assert python_parses("def f(x):\n    return x + 1\n")
    assert python_parses("    y = x * 2\n    return y\n")
    assert not python_parses("def f(x):\n    return (x +\n")
