"""The encoder-state cache: round trip against the encoder, resumable chunks."""

from __future__ import annotations

import numpy as np

from codelm.tasks.docstring.states import StateCache, cache_states, corpus_states, encode_states, load_frozen_encoder

CODES = ["def f(x):\n    return x + 1\n", "def get_header(self, name):\n    return self.headers[name]\n",
         "x = 1", "class A:\n    def run(self):\n        pass\n"]


def test_cache_round_trip_and_resume(tmp_path, one_thread):
    cache_states(CODES[:2], ["a", "b"], tmp_path, max_tokens=16, chunk=1, progress=False)
    cache_states(CODES, ["a", "b", "c", "d"], tmp_path, max_tokens=16, chunk=3, progress=False)  # adds c, d
    cache = StateCache(tmp_path)
    assert sorted(cache.ids) == ["a", "b", "c", "d"] and cache.states.dtype == np.float16
    model, tokenizer = load_frozen_encoder(max_tokens=16)
    for rid, code in zip("abcd", CODES):
        direct = encode_states(model, [tokenizer.encode(code).ids])[0].numpy()
        assert cache.of(rid).shape == direct.shape and len(direct) <= 16
        assert np.abs(cache.of(rid).astype(np.float32) - direct).max() < 1e-2


def test_interrupted_chunk_is_dropped(tmp_path, one_thread):
    cache_states(CODES[:1], ["a"], tmp_path, max_tokens=16, progress=False)
    with open(tmp_path / "states.f16", "ab") as handle:
        handle.write(b"\0" * 384 * 2 * 5)  # rows of a chunk whose index was never written
    records = [{"id": rid, "code": code} for rid, code in zip("ab", CODES)]
    cache = corpus_states(records, tmp_path, max_tokens=16, progress=False)
    assert (tmp_path / "states.f16").stat().st_size == int(cache.offsets[-1]) * 384 * 2
    assert np.abs(cache.of("b").astype(np.float32)).sum() > 0
