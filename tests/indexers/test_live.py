"""The live searcher of long-running faces: it follows a re-index to the new generation."""

from __future__ import annotations

from indexers.index import build_index
from indexers.live import LiveSearcher
from tests.conftest import write_repo


def test_live_searcher_follows_a_reindex(tmp_path):
    root = write_repo(tmp_path / "repo")
    build_index(root, progress=False)
    live = LiveSearcher(root / ".codelm")
    first = live.meta["generation"]
    assert "fibonacci" in [r["name"] for r in live.search("fibonacci numbers", k=5)]
    (root / "extra.py").write_text("def parse_duration(text):\n    return int(text[:-1]) * 60\n")
    build_index(root, progress=False)
    names = [r["name"] for r in live.search("parse a duration", k=5)]
    assert "parse_duration" in names and live.meta["generation"] > first
    found = live.search("parse a duration", k=1)[0]
    assert live.unit(found["id"])["name"] == found["name"]
