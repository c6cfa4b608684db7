"""The docstring decoder exported as the query-likelihood re-ranker: the graph's log-probabilities
are the torch decoder's, tokens it cannot write count zero, and the config says how to feed it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from codelm.core import LIKELIHOOD_GRAPH, RERANKER_ARCH
from codelm.tasks.docstring.neural import DecoderConfig, DocstringDecoder
from codelm.tasks.search.likelihood import export_likelihood

TINY = dict(vocab_size=60, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, memory_size=16,
            max_target=12, max_source=24, pad_token_id=1, bos_token_id=0, eos_token_id=2, output_size=40)


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = DocstringDecoder(DecoderConfig(**TINY)).eval()
    model.output_ids.copy_(torch.arange(40) + 3)  # tokens 0-2 (specials but </s>) and 43-59 not writable
    model.output_ids[0] = 2
    return model.save_pretrained(tmp_path_factory.mktemp("decoder"))


def torch_logp(model_dir, states, mask, inputs, targets) -> np.ndarray:
    """Teacher-forced log-probability of each target token, by the torch decoder; 0 outside its outputs."""
    from codelm.tasks.docstring.neural import load_decoder

    decoder = load_decoder(model_dir)
    with torch.no_grad():
        h = decoder(inputs, decoder.memory(states), mask).last_hidden_state
        logp = torch.log_softmax(decoder.output_logits(h), -1)
        where = decoder.output_positions(targets)
        picked = logp.gather(-1, where.clamp(min=0)[..., None])[..., 0]
    return torch.where(where >= 0, picked, torch.zeros_like(picked)).numpy()


def test_graph_gives_the_decoders_log_probabilities(decoder_dir, tmp_path):
    from codelm.core.export import open_session

    config = export_likelihood(decoder_dir, tmp_path / "rerank", int8=False)
    assert config["architecture"] == RERANKER_ARCH and config["kept"] == "fp32"
    assert (config["max_source"], config["bos_token_id"], config["eos_token_id"]) == (24, 0, 2)
    assert json.loads((tmp_path / "rerank" / "config.json").read_text()) == config
    torch.manual_seed(1)
    states = torch.randn(3, 7, 16)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5])
    inputs = torch.tensor([[0, 5, 50, 9]] * 3)  # <s> query
    targets = torch.tensor([[5, 50, 9, 2]] * 3)  # query </s>; token 50 is not writable
    got = open_session(tmp_path / "rerank" / LIKELIHOOD_GRAPH, 1).run(None, {
        "states": states.numpy(), "states_mask": mask.numpy(), "input_ids": inputs.numpy(),
        "targets": targets.numpy()})[0]
    want = torch_logp(decoder_dir, states, mask, inputs, targets)
    assert got.shape == (3, 4) and np.allclose(got, want, atol=1e-5)
    assert (got[:, 1] == 0).all() and (got[:, [0, 2, 3]] < 0).all()
    assert len(set(np.round(got.sum(1), 5))) == 3  # each candidate's states change the score


def test_int8_is_kept_only_when_probe_rankings_hold(decoder_dir, tmp_path):
    config = export_likelihood(decoder_dir, tmp_path / "rerank")
    assert -1 <= config["probe_correlation"] <= 1
    assert config["kept"] == ("int8" if config["probe_correlation"] >= 0.98 else "fp32")
    assert sorted(p.name for p in (tmp_path / "rerank").iterdir()) == ["config.json", LIKELIHOOD_GRAPH]
