"""The docstring model's memory: MinHash signatures, near copies found, the writer answering from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codelm.tasks.docstring.memory import Memory, PERMUTATIONS, signature, write_memory

SHIPPED = Path(__file__).resolve().parents[4] / "codelm" / "data" / "docstring"
JPEG = '''def test_jpeg(h, f):
    if h[6:10] in (b'JFIF', b'Exif'):
        return 'jpeg'
    elif h[:4] == b'\\xff\\xd8\\xff\\xdb':
        return 'jpeg'
'''
GIF = '''def test_gif(h, f):
    if h[:6] in (b'GIF87a', b'GIF89a'):
        return 'gif'
'''
SERVER = '''def serve_forever(self, poll_interval=0.5):
    with selectors.DefaultSelector() as selector:
        selector.register(self, selectors.EVENT_READ)
        while not self.shutdown_request:
            ready = selector.select(poll_interval)
'''


def test_signatures_estimate_token_overlap():
    assert signature(JPEG).shape == (PERMUTATIONS,) and (signature(JPEG) == signature(JPEG)).all()
    renamed = JPEG.replace("test_jpeg", "_jpeg")  # a copy under another name: most tokens shared
    assert (signature(renamed) == signature(JPEG)).mean() > 0.6
    assert (signature(SERVER) == signature(JPEG)).mean() < 0.2
    assert signature("").sum() == 0


def test_memory_recalls_near_copies_only(tmp_path):
    write_memory([JPEG, GIF], ["JPEG data with JFIF or Exif markers.", "GIF files."], tmp_path)
    memory = Memory(tmp_path)
    assert Memory.exists(tmp_path) and not Memory.exists(tmp_path / "none")
    assert memory.nearest(JPEG) == ("JPEG data with JFIF or Exif markers.", 1.0)
    assert memory.recall(JPEG.replace("test_jpeg", "_jpeg")) == "JPEG data with JFIF or Exif markers."
    assert memory.recall(SERVER) is None
    with pytest.raises(ValueError):
        write_memory([JPEG], [], tmp_path)


@pytest.mark.skipif(not (SHIPPED / "config.json").is_file(), reason="no shipped docstring model")
def test_writer_answers_near_copies_from_memory_without_the_encoder(tmp_path, one_thread):
    from codelm.tasks.docstring.writer import DocstringWriter

    for name in ("config.json", "model.safetensors"):
        shutil.copy(SHIPPED / name, tmp_path / name)
    write_memory([JPEG], ["JPEG data with JFIF or Exif markers."], tmp_path)
    writer = DocstringWriter(tmp_path)
    assert writer.write([JPEG.replace("test_jpeg", "_jpeg")]) == ["JPEG data with JFIF or Exif markers."]
    assert writer._encoder is None  # nothing was left for the decoder
    written = writer.write([JPEG, SERVER], num_beams=2, max_new_tokens=12, memory=False)
    assert written[0] != "JPEG data with JFIF or Exif markers." and all(t.endswith(".") for t in written)
