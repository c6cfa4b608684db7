"""Checkpoints: transformers loads what we save, we reload it exactly, and bad dirs fail clearly."""

from __future__ import annotations

import json

import pytest
import torch

from codelm.core.checkpoint import load_pretrained, resolve_model_dir, save_pretrained
from codelm.core.config import ModelConfig
from codelm.errors import CodelmError
from codelm.core.model import CodeLM


def random_model(layout: str, tie: bool = True) -> CodeLM:
    torch.manual_seed(0)
    config = ModelConfig.preset("tiny", vocab_size=101, layout=layout, max_position_embeddings=64,
                                pad_token_id=1 if layout == "roberta" else 0, tie_word_embeddings=tie)
    model = CodeLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model


def batch(model: CodeLM):
    pad = model.config.pad_token_id
    ids = torch.randint(3, model.config.vocab_size, (2, 10), generator=torch.Generator().manual_seed(5))
    ids[1, 6:] = pad
    return ids, (ids != pad).long()


@pytest.mark.parametrize("layout,tie", [("bert", True), ("roberta", True), ("roberta", False)])
def test_transformers_loads_saved_checkpoint(tmp_path, layout, tie):
    from transformers import AutoModel, AutoModelForMaskedLM

    model = random_model(layout, tie)
    save_pretrained(model, tmp_path)
    ids, mask = batch(model)
    with torch.no_grad():
        h = model(ids, mask).last_hidden_state
        ref = AutoModel.from_pretrained(tmp_path).eval()(input_ids=ids, attention_mask=mask).last_hidden_state
        logits = AutoModelForMaskedLM.from_pretrained(tmp_path).eval()(input_ids=ids, attention_mask=mask).logits
        real = mask.bool()
        assert (h - ref)[real].abs().max() < 1e-5
        assert (model.mlm_logits(h) - logits)[real].abs().max() < 1e-4


@pytest.mark.parametrize("layout,tie", [("bert", False), ("roberta", True)])
def test_our_loader_restores_every_head(tmp_path, layout, tie):
    model = random_model(layout, tie)
    save_pretrained(model, tmp_path)
    back = load_pretrained(tmp_path)
    assert back.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    ids, mask = batch(model)
    with torch.no_grad():
        h, h2 = model(ids, mask).last_hidden_state, back(ids, mask).last_hidden_state
        assert torch.equal(h, h2)
        assert torch.equal(model.discriminator_logits(h), back.discriminator_logits(h2))
        assert torch.equal(model.lm_logits(h), back.lm_logits(h2))


def test_loads_pytorch_bin_with_bare_keys(tmp_path):
    from transformers import RobertaModel

    model = random_model("roberta")
    hf = RobertaModel(model.config.to_hf()).eval()
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    hf.config.to_json_file(tmp_path / "config.json")
    ours = load_pretrained(tmp_path)
    ids, mask = batch(model)
    with torch.no_grad():
        diff = ours(ids, mask).last_hidden_state - hf(input_ids=ids, attention_mask=mask).last_hidden_state
    assert diff[mask.bool()].abs().max() < 1e-5


def test_minilm_resolves_to_embedded_package():
    path = resolve_model_dir("minilm")
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()


def test_clear_errors(tmp_path):
    with pytest.raises(CodelmError, match="not found"):
        load_pretrained(tmp_path / "nope")
    with pytest.raises(CodelmError, match="config.json"):
        load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(random_model("bert").config.to_hf().to_dict()))
    with pytest.raises(CodelmError, match="model.safetensors or pytorch_model.bin"):
        load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 10}))
    with pytest.raises(CodelmError, match="unsupported model_type 'gpt2'"):
        load_pretrained(tmp_path)


def test_config_round_trips():
    config = ModelConfig.preset("small", vocab_size=1000, layout="bert", pad_token_id=0)
    assert (config.num_layers, config.hidden_size, config.num_heads, config.intermediate_size) == (6, 384, 6, 1536)
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert ModelConfig.from_hf(config.to_hf()) == config
    with pytest.raises(CodelmError):
        ModelConfig.preset("huge")
