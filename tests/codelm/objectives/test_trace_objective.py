"""The trace objective: layout, weights, target-only loss, truncation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from codelm.core.config import ModelConfig
from codelm.core.model import CodeLM
from codelm.objectives import get_objective
from codelm.objectives.trace import IGNORE, truncate
from codelm.tasks.trace.prompt import encode_records
from codelm.core.tokenizer import default_tokenizer

RECORD = {"source": "a = 1\nb = a + 2\n", "input": "", "kind": "singleline",
          "trace_text": "<line> <0> <state> a : 1 </state> <line> <1> <state> a : 1 <dictsep> b : 3 </state>"}


def tiny_model(tok) -> CodeLM:
    torch.manual_seed(0)
    return CodeLM(ModelConfig.preset("tiny", vocab_size=tok.vocab_size, pad_token_id=tok.pad_id,
                                     hidden_dropout=0.0, attention_dropout=0.0))


def test_layout_and_labels_cover_only_the_trace():
    tok = default_tokenizer()
    obj = get_objective("trace", tokenizer=tok, max_length=128)
    ex = encode_records(tok, [RECORD])[0]
    batch = obj.collate([ex, {**ex, "target": ex["target"][:3]}])
    ids, labels, p = batch["input_ids"][0], batch["labels"][0], int(batch["prefix_lengths"][0])
    assert ids[:3].tolist() == [tok.cls_id, tok.token_id("<encoder-decoder>"), tok.sep_id]
    assert tok.decode(ids[3:p - 1].tolist()) == "<0> a = 1 <1> b = a + 2"
    labelled = labels[labels != IGNORE].tolist()
    assert labelled == ex["target"] + [tok.eos_id]          # trace then </s>, nothing of the source
    assert (labels[:p - 1] == IGNORE).all()
    row2 = batch["labels"][1]
    assert row2[row2 != IGNORE].tolist() == ex["target"][:3] + [tok.eos_id]
    assert (batch["input_ids"][1][batch["attention_mask"][1] == 0] == tok.pad_id).all()


def test_weights_structural_vs_value_tokens():
    tok = default_tokenizer()
    obj = get_objective("trace", tokenizer=tok, structure_weight=1.0, value_weight=10.0)
    for name in ("<state>", "</state>", "<dictsep>"):
        assert obj.weights[tok.token_id(name)] == 1.0
    assert obj.weights[tok.encode(" :")[0]] == 1.0
    for name in ("<line>", "<output>"):
        assert obj.weights[tok.token_id(name)] == 10.0
    assert obj.weights[tok.encode(" 3")[0]] == 10.0


def test_loss_is_weighted_cross_entropy_over_target_positions(one_thread):
    tok = default_tokenizer()
    model = tiny_model(tok).eval()
    ex = encode_records(tok, [RECORD])[0]
    weighted = get_objective("trace", tokenizer=tok, structure_weight=0.5, value_weight=3.0)
    flat = get_objective("trace", tokenizer=tok, structure_weight=1.0, value_weight=1.0)
    batch = weighted.collate([ex])
    with torch.no_grad():
        loss_w, metrics = weighted(model, batch)
        loss_f, _ = flat(model, batch)
        h = model(batch["input_ids"], mode="prefix", prefix_lengths=batch["prefix_lengths"]).last_hidden_state
        chosen = batch["labels"] != IGNORE
        target = batch["labels"][chosen]
        ce = F.cross_entropy(model.lm_logits(h[chosen]), target, reduction="none")
    w = weighted.weights[target]
    assert set(w.tolist()) == {0.5, 3.0}
    assert torch.allclose(loss_w, (w * ce).sum() / len(target), atol=1e-5)
    assert torch.allclose(loss_f, ce.mean(), atol=1e-5)
    assert abs(metrics["ce"] - float(ce.mean())) < 1e-5
    # padding after a row does not change its loss
    padded = weighted.collate([ex, {**ex, "target": ex["target"] * 3}])
    with torch.no_grad():
        loss_row0 = weighted(model, {k: v[:1] for k, v in padded.items()})[0]  # row 0 with padding after it
    assert padded["attention_mask"][0].sum() < padded["attention_mask"].shape[1]
    assert torch.allclose(loss_row0, loss_w, atol=1e-5)


def test_truncation_keeps_source_share_and_first_steps():
    src, tgt = list(range(100)), list(range(1000, 1400))
    s, t = truncate(src, tgt, budget=200, source_share=0.25)
    assert s == src[:50] and t == tgt[:150]                 # both long: 1/4 source, 3/4 trace
    s, t = truncate(list(range(10)), tgt, budget=200)
    assert len(s) == 10 and t == tgt[:190]                  # short source leaves room to the trace
    s, t = truncate(src, tgt[:20], budget=200)
    assert s == src and t == tgt[:20]                       # fits: nothing cut
    s, t = truncate(list(range(300)), tgt[:20], budget=200)
    assert len(s) == 180 and len(t) == 20                   # short trace leaves room to the source


def test_collate_respects_max_length():
    tok = default_tokenizer()
    obj = get_objective("trace", tokenizer=tok, max_length=64)
    long = {**RECORD, "source": "".join(f"x{i} = {i}\n" for i in range(40)),
            "trace_text": " ".join(f"<line> <{i}> <state> x : {i} </state>" for i in range(40))}
    batch = obj.collate(encode_records(tok, [long]))
    assert batch["input_ids"].shape[1] == 64
    labels = batch["labels"][0]
    assert labels[labels != IGNORE][-1] == tok.eos_id
    assert tok.decode(batch["input_ids"][0, 3:12].tolist()).startswith("<0> x0 = 0")
