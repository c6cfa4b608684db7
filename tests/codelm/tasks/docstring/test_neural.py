"""The frozen-encoder decoder: training through the one trainer, save/load, exact resume, generation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codelm.core.generate import beam_search
from codelm.tasks.docstring.neural import Bound, DecoderConfig, DocstringDecoder, is_frozen_model, load_decoder
from codelm.objectives.cached_states import FrozenDocstringObjective, pad_states
from codelm.train import TrainConfig, train

TINY = dict(vocab_size=40, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, memory_size=16,
            max_target=8, pad_token_id=1, bos_token_id=0, eos_token_id=2)


def fixture(n: int = 32) -> tuple[list[np.ndarray], list[dict]]:
    """States of n functions and a target that depends on them (first state's sign pattern)."""
    rng = np.random.default_rng(0)
    states = [rng.standard_normal((int(rng.integers(3, 9)), 16)).astype(np.float16) for _ in range(n)]
    examples = [{"row": i, "target": [5 + int(s[0, 0] > 0), 10 + int(s[0, 1] > 0), 20]} for i, s in enumerate(states)]
    return states, examples


def config(out, **changes) -> TrainConfig:
    base = dict(lr=3e-3, batch_size=8, max_steps=40, warmup_steps=4, out_dir=str(out), progress=False,
                eval_every=20, save_every=20, log_every=10)
    return TrainConfig(**{**base, **changes})


def run(out, steps: int, resume: bool = False, **changes) -> tuple[DocstringDecoder, dict]:
    states, examples = fixture()
    torch.manual_seed(0)
    model = DocstringDecoder(DecoderConfig(**TINY))
    objective = FrozenDocstringObjective(states, 0, 2, 1, 8)
    return model, train(model, objective, examples, examples[:8], config(out, stop_at=steps, **changes), resume=resume)


def test_loss_falls(tmp_path, one_thread):
    _, result = run(tmp_path, 40)
    assert result["losses"][-1] < 0.6 * result["losses"][0]


def test_save_load_round_trip(tmp_path, one_thread):
    model, _ = run(tmp_path, 40)
    assert is_frozen_model(tmp_path)
    again = load_decoder(tmp_path)
    for (name, a), b in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
    model.save_pretrained(tmp_path / "half", half=True)
    half = load_decoder(tmp_path / "half")
    assert torch.allclose(half.word.weight, model.word.weight, atol=1e-3)


def test_resume_is_exact(tmp_path, one_thread):
    straight, _ = run(tmp_path / "straight", 12, save_every=6)
    run(tmp_path / "split", 6, save_every=6)
    resumed, result = run(tmp_path / "split", 12, resume=True, save_every=6)
    assert result["step"] == 12
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_output_vocabulary_limits_generation(one_thread):
    torch.manual_seed(0)
    model = DocstringDecoder(DecoderConfig(**TINY, output_size=4)).eval()
    model.output_ids.copy_(torch.tensor([2, 5, 6, 20]))
    logits = model.lm_logits(torch.randn(3, 32))
    assert torch.isinf(logits[:, 7]).all() and torch.isfinite(logits[:, [2, 5, 6, 20]]).all()
    assert model.output_positions(torch.tensor([5, 20, 7])).tolist() == [1, 3, -100]


@pytest.mark.parametrize("beams", [1, 3])
def test_beam_search_with_and_without_cache(beams, one_thread):
    states, _ = fixture(4)
    torch.manual_seed(0)
    model = DocstringDecoder(DecoderConfig(**TINY)).eval()
    memory, mask = pad_states(states)
    start = torch.zeros(4, 1, dtype=torch.long)
    cached = beam_search(Bound(model, memory, mask), start, 6, beams, 2, 1.0, 2, repetition_penalty=1.3)
    plain = beam_search(Bound(model, memory, mask), start, 6, beams, 2, 1.0, 2, use_cache=False,
                        repetition_penalty=1.3)
    assert torch.equal(cached, plain)


def test_bias_steers_each_prompt(one_thread):
    states, _ = fixture(2)
    torch.manual_seed(0)
    model = DocstringDecoder(DecoderConfig(**TINY)).eval()
    memory, mask = pad_states(states)
    bias = torch.zeros(2, 40)
    bias[0, 7], bias[1, 9] = 100.0, 100.0  # large enough to win every step
    out = beam_search(Bound(model, memory, mask, bias), torch.zeros(2, 1, dtype=torch.long), 3, 2, 2)
    assert set(out[0].tolist()) == {7} and set(out[1].tolist()) == {9}
