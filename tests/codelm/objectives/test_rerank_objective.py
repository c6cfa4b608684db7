"""Hard-negative mining and the re-ranker objective: groups, truncation, loss that learns."""

from __future__ import annotations

import numpy as np
import torch

from codelm.objectives.negatives import mine_negatives

TEXTS = ["read config file (function in config.py)\ndef read_config(path): return open(path).read()",
         "write config file (function in config.py)\ndef write_config(path, text): open(path, 'w').write(text)",
         "parse json text (function in data.py)\ndef parse_json(text): return json.loads(text)",
         "sort numbers (function in ops.py)\ndef sort_numbers(xs): return sorted(xs)",
         "sort numbers (function in _vendor/ops.py)\ndef sort_numbers(xs): return sorted(xs)"]
QUERIES = ["Read the config file.", "Write text to the config file.", "Parse JSON text.",
           "Sort the numbers.", "Sort the numbers."]


def test_mined_negatives_skip_the_positive_and_its_copies(tmp_path) -> None:
    mined = mine_negatives(QUERIES, TEXTS, k=3, cache=tmp_path / "neg.npy")
    assert mined.shape == (5, 3) and mined.dtype == np.int64
    for i, row in enumerate(mined):
        real = [int(j) for j in row if j >= 0]
        assert i not in real and all(TEXTS[j] != TEXTS[i] and QUERIES[j] != QUERIES[i] for j in real)
        assert list(row[len(real):]) == [-1] * (3 - len(real))  # padding only at the end
    assert mined[0, 0] == 1  # BM25: "config file" is the nearest other text
    assert (tmp_path / "neg.npy").is_file() and not list(tmp_path.glob("*.tmp"))
    assert 4 not in mined[3] and 3 not in mined[4]  # a copy documented alike is no negative
    again = mine_negatives(QUERIES, ["same text"] * 5, k=3, cache=tmp_path / "neg.npy")
    assert (again == mined).all()  # read from the cache (same shape), not mined again


def _records() -> list[dict]:
    return [{"id": str(i), "nl": q + " It says more.", "code": t.split("\n")[1], "name": t.split()[0],
             "path": "m.py"} for i, (q, t) in enumerate(zip(QUERIES[:4], TEXTS[:4]))]


def _objective(**kw):
    from codelm.objectives.rerank import Rerank
    from codelm.objectives.contrastive import load_tokenizer

    return Rerank(tokenizer=load_tokenizer("minilm", 64), max_length=48, group=2, **kw)


def test_collate_makes_groups_of_the_own_code_then_negatives() -> None:
    objective = _objective(sentence_share=1.0)
    records = _records()
    objective.fit(records)
    batch = objective.collate(records, torch.Generator().manual_seed(0))
    assert batch["input_ids"].shape[0] == 2 * len(records)  # (own code, one negative) per record
    assert batch["input_ids"].shape[1] <= 48
    first = objective.tok.decode(batch["input_ids"][0].tolist())
    assert first.startswith("read the config file") and "it says more" not in first  # the first sentence
    types = batch["token_type_ids"][0][batch["attention_mask"][0].bool()]
    assert types[0] == 0 and types[-1] == 1  # query, then the code
    assert objective.collate([{**records[0], "id": "unknown"}], None) is None  # no negatives: left out


def test_loss_falls_when_trained_on_a_batch() -> None:
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM

    objective = _objective()
    records = _records()
    objective.fit(records)
    batch = objective.collate(records, torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=objective.tok.get_vocab_size(), num_layers=2,
                                         type_vocab_size=2, hidden_dropout=0.0,
                                         attention_dropout=0.0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first, metrics = objective(model, batch)
    assert set(metrics) == {"acc", "tokens"} and abs(float(first.detach()) - np.log(2)) < 0.3
    for _ in range(40):
        loss, _ = objective(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < float(first.detach()) / 2
