"""PyMT5 multi-mode examples and the seq2seq objective."""

from __future__ import annotations

import pytest
import torch

from codelm.core.config import ModelConfig
from codelm.core.model import CodeLM
from codelm.objectives import get_objective
from codelm.objectives.seq2seq import seq2seq_batch
from codelm.tasks.docstring.prompt import build_pairs, corpus_examples, encode_pair, features_of
from codelm.core.tokenizer import default_tokenizer

RECORD = {"code": "def parse_config(path: str, strict=False) -> dict:\n"
                  "    text = open(path).read()\n    return HTTPServer.load(text)\n",
          "nl": "Parse the config  file at path.", "language": "python"}


@pytest.fixture(scope="module")
def tok():
    return default_tokenizer()


def test_features_of_a_record():
    f = features_of(RECORD["code"], RECORD["nl"])
    assert f == {"signature": "def parse_config(path: str, strict=False) -> dict:",
                 "docstring": "Parse the config file at path.",
                 "body": "    text = open(path).read()\n    return HTTPServer.load(text)"}


def test_every_direction_is_built_as_specified():
    pairs = {p["direction"]: p for p in build_pairs(features_of(RECORD["code"], RECORD["nl"]))}
    sig = "def parse_config(path: str, strict=False) -> dict:"
    body = "    text = open(path).read()\n    return HTTPServer.load(text)"
    assert pairs["signature+body->docstring"] == {
        "source": f"# target docstring\n{sig}\n{body}", "target": "Parse the config file at path.",
        "direction": "signature+body->docstring"}
    assert pairs["signature->docstring"]["source"] == f"# target docstring\n{sig}"
    assert pairs["signature+docstring->body"]["source"] == \
        f'# target body\n{sig}\n    """Parse the config file at path."""'
    assert pairs["signature+docstring->body"]["target"] == body
    assert pairs["docstring->signature+body"]["source"] == \
        '# target signature and body\n"""Parse the config file at path."""'
    assert pairs["docstring->signature+body"]["target"] == f"{sig}\n{body}"
    assert len(pairs) == 4


def test_without_docstring_only_directions_that_need_none():
    assert build_pairs(features_of(RECORD["code"], "")) == []


def test_encoding_keeps_case_and_marks_the_mode(tok):
    pair = build_pairs(features_of(RECORD["code"], RECORD["nl"]))[0]
    ex = encode_pair(tok, pair["source"], pair["target"])
    assert ex["source"][:2] == [tok.cls_id, tok.token_id("<encoder-decoder>")]
    assert ex["source"][-1] == tok.sep_id and ex["target"][-1] == tok.eos_id
    assert tok.decode(ex["source"][2:-1]) == pair["source"]  # HTTPServer stays HTTPServer
    assert tok.decode(ex["target"][:-1]) == pair["target"]
    assert len(corpus_examples(tok, [RECORD, RECORD])) == 8


def test_batch_layout_left_pads_sources_and_labels_targets():
    b = seq2seq_batch([[5, 6, 7], [8]], [[9, 2], [10, 11, 2]], pad_id=1)
    assert b["prefix_length"] == 3
    assert b["input_ids"].tolist() == [[5, 6, 7, 9, 2, 1], [1, 1, 8, 10, 11, 2]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1]]
    assert b["labels"].tolist() == [[9, 2, -100], [10, 11, 2]]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return CodeLM(ModelConfig.preset("tiny", vocab_size=40, pad_token_id=1,
                                     max_position_embeddings=64)).eval()


def test_loss_is_the_mean_target_cross_entropy(model, one_thread):
    tok = type("T", (), {"pad_id": 1})()
    obj = get_objective("seq2seq", tokenizer=tok)
    src, tgt = [0, 15, 20, 21, 22, 2], [30, 31, 2]
    loss, metrics = obj(model, obj.collate([{"source": src, "target": tgt}], torch.Generator()))
    # by hand: -log p(tgt[j] | src, tgt[:j]) with the source read in prefix mode, averaged
    nll = []
    for j in range(len(tgt)):
        ids = torch.tensor([src + tgt[:j]])
        h = model(ids, mode="prefix", prefix_lengths=len(src)).last_hidden_state[0, -1]
        nll.append(-torch.log_softmax(model.lm_logits(h), -1)[tgt[j]])
    assert loss.item() == pytest.approx((sum(nll) / len(nll)).item(), abs=1e-5)
    assert metrics["tokens"] == 9.0


def test_only_target_positions_count_and_padding_is_inert(model, one_thread):
    obj = get_objective("seq2seq", tokenizer=type("T", (), {"pad_id": 1})())
    examples = [{"source": [0, 15, 20, 2], "target": [30, 2]},
                {"source": [0, 15, 21, 22, 23, 2], "target": [31, 32, 33, 2]}]
    batch = obj.collate(examples, torch.Generator())
    loss, _ = obj(model, batch)
    assert torch.isfinite(loss)
    bert = CodeLM(model.config.replace(layout="bert")).eval()  # positions ignore the ids
    filler = {**batch, "input_ids": batch["input_ids"].masked_fill(batch["attention_mask"] == 0, 7)}
    assert obj(bert, filler)[0].item() == pytest.approx(obj(bert, batch)[0].item(), abs=1e-6)
    last = {**batch, "input_ids": batch["input_ids"].clone()}
    last["input_ids"][:, -1] = 9  # the final input token predicts nothing
    assert obj(model, last)[0].item() == pytest.approx(loss.item(), abs=1e-6)
    model.train()
    loss, _ = obj(model, batch)
    loss.backward()
    model.eval()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    model.zero_grad()


def test_corpus_examples_train_seq2seq_plus_span(tok, one_thread):
    examples = corpus_examples(tok, [RECORD])
    assert examples[0]["code"] == tok.encode(RECORD["code"])
    obj = get_objective("seq2seq+span", tokenizer=tok, max_length=256)
    batch = obj.collate(examples, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=tok.vocab_size, pad_token_id=tok.pad_id))
    loss, metrics = obj(model, batch)
    assert torch.isfinite(loss) and metrics["seq2seq_loss"] > 0 and metrics["span_loss"] > 0
