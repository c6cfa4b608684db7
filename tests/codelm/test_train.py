"""The trainer: schedule, exact resume, data parallel equivalence, loss regression, checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from codelm.core.config import ModelConfig
from codelm.core.model import CodeLM
from codelm.objectives import get_objective
from codelm.train import TrainConfig, train
from codelm.train import lr_factor
from tests.codelm.tiny_data import stand_in_tokenizer, synthetic_examples

ROOT = Path(__file__).resolve().parents[2]
VOCAB = 64


def _model(seed: int = 0, dropout: float = 0.1) -> CodeLM:
    torch.manual_seed(seed)
    return CodeLM(ModelConfig.preset("tiny", vocab_size=VOCAB, max_position_embeddings=40,
                                     hidden_dropout=dropout, attention_dropout=dropout))


def _objective(train_data: list[dict]):
    obj = get_objective("mlm+rtd", tokenizer=stand_in_tokenizer(VOCAB), max_length=32)
    obj.fit(train_data)
    return obj


def _cfg(out: Path, **kw) -> TrainConfig:
    base = dict(lr=2e-3, warmup_steps=3, max_steps=20, batch_size=4, eval_every=10, save_every=5,
                log_every=5, out_dir=str(out), progress=False, threads=1)
    return TrainConfig(**{**base, **kw})


def test_schedule_warms_up_and_decays():
    cfg = TrainConfig(warmup_steps=10, max_steps=110)
    assert lr_factor(0, cfg) == pytest.approx(0.1) and lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(60, cfg) == pytest.approx(0.5) and lr_factor(110, cfg) == 0.0
    cos = TrainConfig(warmup_steps=10, max_steps=110, schedule="cosine")
    assert lr_factor(60, cos) == pytest.approx(0.5) and lr_factor(10, cos) == pytest.approx(1.0)


def test_exact_resume(tmp_path, one_thread):
    data, valid = synthetic_examples(40), synthetic_examples(8, seed=1)
    straight = _model()
    a = train(straight, _objective(data), data, valid, _cfg(tmp_path / "a", grad_accum=2))
    first = train(_model(), _objective(data), data, valid, _cfg(tmp_path / "b", grad_accum=2, stop_at=10))
    assert first["step"] == 10 and not (tmp_path / "b" / "model.safetensors").exists()
    resumed_model = _model(seed=123)  # different init: everything must come from the checkpoint
    b = train(resumed_model, _objective(data), data, valid, _cfg(tmp_path / "b", grad_accum=2), resume=True)
    assert a["losses"] == first["losses"] + b["losses"]
    for (name, p), q in zip(straight.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(p, q), name
    valid_lines = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert {r["split"] for r in valid_lines} == {"train", "valid"}
    assert all("tokens_per_s" in r for r in valid_lines if r["split"] == "train")


def test_time_limit_stops_saves_and_resumes(tmp_path, one_thread):
    data = synthetic_examples(40)
    budget = _cfg(tmp_path, max_steps=6, time_limit=1e-9)  # spent after the first step
    first = train(_model(), _objective(data), data, None, budget)
    assert (first["step"], first["stopped"]) == (1, "time_limit")
    assert (tmp_path / "checkpoint-1").is_dir() and (tmp_path / "model.safetensors").is_file()
    rest = train(_model(seed=9), _objective(data), data, None, _cfg(tmp_path, max_steps=6), resume=True)
    assert (rest["step"], rest["stopped"]) == (6, "max_steps") and len(rest["losses"]) == 5


def test_parse_duration_reads_units():
    from codelm.errors import UsageError
    from codelm.train import parse_duration

    assert [parse_duration(t) for t in ("90", "45s", "60m", "1.5h")] == [90, 45, 3600, 5400]
    with pytest.raises(UsageError, match="duration"):
        parse_duration("an hour")


def test_loss_regression(tmp_path, one_thread):
    """A pinned loss range after 40 steps on the synthetic corpus (counting runs are easy)."""
    data = synthetic_examples(64)
    result = train(_model(dropout=0.0), _objective(data), data, synthetic_examples(16, seed=5),
                   _cfg(tmp_path, lr=5e-3, max_steps=40, batch_size=8, eval_every=40, save_every=40))
    first, last = result["losses"][0], result["valid"]
    assert 4.6 < first < 5.2  # ln(64) + ln(2) = 4.85 at random init
    assert 3.7 < last["loss"] < 4.35, last  # 4.02 when pinned (MLM 3.85, RTD 0.17)
    assert last["rtd_acc"] > 0.85


def test_checkpoint_loads_in_transformers(tmp_path, one_thread):
    from transformers import AutoModel

    from codelm.core.checkpoint import load_pretrained

    data = synthetic_examples(16)
    model = _model()
    (tmp_path / "tokenizer.json").write_text("{}")  # a recipe's tokenizer: every checkpoint gets a copy
    train(model, _objective(data), data, None, _cfg(tmp_path, max_steps=3, save_every=3))
    assert (tmp_path / "checkpoint-3" / "tokenizer.json").read_text() == "{}"
    hf = AutoModel.from_pretrained(tmp_path / "checkpoint-3").eval()
    ours = load_pretrained(tmp_path).eval()
    ids = torch.tensor([[0, 7, 8, 9, 2, 20, 21, 2]])
    with torch.no_grad():
        expected = hf(input_ids=ids).last_hidden_state
        got = ours(ids).last_hidden_state
        trained = model.eval()(ids).last_hidden_state
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(trained, expected, atol=1e-5, rtol=1e-4)


DDP_SCRIPT = textwrap.dedent("""
    import sys, torch
    from codelm.core.config import ModelConfig
    from codelm.core.model import CodeLM
    from codelm.train import TrainConfig, train

    class MeanSquare:
        '''Per-example loss averaged over the batch: equal shards make the mean of means exact.'''
        def collate(self, examples, generator):
            return torch.tensor(examples)
        def __call__(self, model, ids):
            h = model(ids).last_hidden_state
            return (h.mean(-1) ** 2).mean() + model.discriminator_logits(h).pow(2).mean(), {}

    out, batch_size = sys.argv[1], int(sys.argv[2])
    torch.manual_seed(0)
    model = CodeLM(ModelConfig.preset("tiny", vocab_size=64, max_position_embeddings=40,
                                      hidden_dropout=0.0, attention_dropout=0.0))
    g = torch.Generator().manual_seed(1)
    data = torch.randint(5, 64, (8, 12), generator=g).tolist()
    cfg = TrainConfig(lr=1e-2, warmup_steps=0, max_steps=1, batch_size=batch_size, out_dir=out,
                      progress=False, threads=1, schedule="constant", save_every=100)
    train(model, MeanSquare(), data, None, cfg)
    torch.save(model.state_dict(), out + "/params.pt")
""")


@pytest.mark.slow
def test_ddp_two_processes_equal_one_with_the_combined_batch(tmp_path):
    script = tmp_path / "ddp_step.py"
    script.write_text(DDP_SCRIPT)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    torchrun = Path(sys.executable).with_name("torchrun")
    subprocess.run([str(torchrun), "--nproc_per_node", "2", "--master_port", "29517", str(script),
                    str(tmp_path / "two"), "4"], check=True, env=env, cwd=ROOT, timeout=240, capture_output=True)
    subprocess.run([sys.executable, str(script), str(tmp_path / "one"), "8"], check=True, env=env,
                   cwd=ROOT, timeout=240, capture_output=True)
    two = torch.load(tmp_path / "two" / "params.pt")
    one = torch.load(tmp_path / "one" / "params.pt")
    start = _model(dropout=0.0).state_dict()
    assert any(not torch.equal(one[k], start[k]) for k in one)  # the step did change the weights
    for k in one:
        # a real difference would be ~lr = 1e-2; Adam divides tiny gradients by tiny norms
        torch.testing.assert_close(two[k], one[k], atol=5e-5, rtol=1e-4)


@pytest.mark.slow
def test_pretrain_command_resumes(tmp_path, codelm_cli):
    from indexers.corpus import build_corpus

    build_corpus([Path(json.__file__).parent], tmp_path / "corpus", valid_share=0.5, progress=False)
    args = ["pretrain", "--objective", "mlm+rtd", "--config", "tiny", "--data", str(tmp_path / "corpus"),
            "--out", str(tmp_path / "run"), "--max-length", "48", "batch_size=2", "threads=1",
            "warmup_steps=1", "save_every=2", "eval_batches=2", "max_steps=4"]
    first = codelm_cli(*args, "stop_at=2", "--json")
    assert first.returncode == 0, first.stderr
    done = codelm_cli(*args, "--resume", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["step"] == 4 and summary["train_examples"] > 10 and summary["valid_examples"] > 0
    assert "rtd_acc" in summary["valid"] and "mlm_acc" in summary["valid"]
    assert (tmp_path / "run" / "config.json").is_file() and (tmp_path / "run" / "tokenizer.json").is_file()
