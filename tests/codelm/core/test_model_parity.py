"""The core's hidden states and MLM logits equal transformers' BERT/RoBERTa on the same weights."""

from __future__ import annotations

import pytest
import torch

from codelm.core.checkpoint import load_pretrained, resolve_model_dir, state_from_hf
from codelm.core.config import ModelConfig
from codelm.core.model import CodeLM

TOL = 1e-5


def tiny_config(layout: str, **overrides) -> ModelConfig:
    pad = 1 if layout == "roberta" else 0
    base = dict(vocab_size=97, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=48,
                max_position_embeddings=40, type_vocab_size=2, layout=layout, pad_token_id=pad,
                layer_norm_eps=1e-12)
    return ModelConfig(**{**base, **overrides})


def hf_pair(config: ModelConfig, seed: int = 0):
    """A random transformers MaskedLM model and our CodeLM holding the same weights (eval mode)."""
    from transformers import BertForMaskedLM, RobertaForMaskedLM

    torch.manual_seed(seed)
    hf_cls = BertForMaskedLM if config.layout == "bert" else RobertaForMaskedLM
    hf = hf_cls(config.to_hf()).eval()
    with torch.no_grad():  # non-trivial LayerNorm/bias values so a wrong mapping shows
        for name, p in hf.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.1)
    ours = CodeLM(config).eval()
    missing, unexpected = ours.load_state_dict(state_from_hf(hf.state_dict(), config), strict=False)
    assert [k for k in missing if not k.startswith("discriminator.")] == []
    return hf, ours


def padded_batch(config: ModelConfig, lengths: list[int], seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    t = max(lengths)
    ids = torch.randint(3, config.vocab_size, (len(lengths), t), generator=g)
    mask = torch.zeros(len(lengths), t, dtype=torch.long)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
        ids[row, n:] = config.pad_token_id
    return ids, mask


@pytest.mark.parametrize("layout", ["bert", "roberta"])
@pytest.mark.parametrize("lengths", [[9, 9], [11, 4, 7]])
def test_hidden_states_and_mlm_logits_match_transformers(layout, lengths):
    config = tiny_config(layout)
    hf, ours = hf_pair(config)
    ids, mask = padded_batch(config, lengths)
    types = torch.randint(0, 2, ids.shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
        got = ours(ids, mask, token_type_ids=types).last_hidden_state
        logits = ours.mlm_logits(got)
    real = mask.bool()
    assert (got - ref.hidden_states[-1])[real].abs().max() < TOL
    assert (got - ref.hidden_states[-1]).abs().max() < TOL  # pad positions too
    assert (logits - ref.logits)[real].abs().max() < 1e-4


@pytest.mark.parametrize("layout", ["bert", "roberta"])
def test_matches_transformers_without_mask_and_token_types(layout):
    config = tiny_config(layout, hidden_act="gelu_new", tie_word_embeddings=False)
    hf, ours = hf_pair(config, seed=3)
    ids = torch.randint(3, config.vocab_size, (2, 12), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        ref = hf(input_ids=ids, output_hidden_states=True)
        got = ours(ids).last_hidden_state
        assert (got - ref.hidden_states[-1]).abs().max() < TOL
        assert (ours.mlm_logits(got) - ref.logits).abs().max() < 1e-4


SENTENCES = ["def add(a, b): return a + b", "Sort a list of numbers in place.",
             "The quick brown fox jumps over the lazy dog", "x"]


def test_embedded_minilm_matches_transformers_bert():
    from tokenizers import Tokenizer
    from transformers import BertModel

    path = resolve_model_dir("minilm")
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.enable_padding(pad_id=0)
    enc = tok.encode_batch(SENTENCES)
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    ours = load_pretrained("minilm")
    hf = BertModel.from_pretrained(str(path)).eval()
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).last_hidden_state
        got = ours(ids, mask).last_hidden_state
        emb = ours.embed(ids, mask)
    assert (got - ref)[mask.bool()].abs().max() < TOL
    pooled = (ref * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    assert torch.allclose(emb, torch.nn.functional.normalize(pooled, dim=1), atol=1e-6)
    assert torch.allclose(emb.norm(dim=1), torch.ones(len(SENTENCES)), atol=1e-6)


def test_embed_equals_sentence_transformers_encode():
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    path = resolve_model_dir("minilm")
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.enable_padding(pad_id=0)
    enc = tok.encode_batch(SENTENCES)
    ids, mask = torch.tensor([e.ids for e in enc]), torch.tensor([e.attention_mask for e in enc])
    with torch.no_grad():
        ours = load_pretrained("minilm").embed(ids, mask)
    ref = SentenceTransformer(str(path), device="cpu").encode(SENTENCES, convert_to_tensor=True)
    assert (ours - ref).abs().max() < 1e-5
