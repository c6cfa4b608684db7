"""Fixtures of the codelm tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run torch on one thread (much faster on a shared, loaded CPU); restore afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny untrained prefix-LM with the default tokenizer, saved as a model directory
    (what `codelm docstring --model` takes): enough to run generation end to end."""
    from codelm.core.checkpoint import save_pretrained
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM
    from codelm.core.tokenizer import default_tokenizer

    tok = default_tokenizer()
    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=tok.vocab_size, pad_token_id=tok.pad_id,
                                      max_position_embeddings=130))
    out = tmp_path_factory.mktemp("tinymodel")
    save_pretrained(model, out)
    tok.save(out)
    return out
