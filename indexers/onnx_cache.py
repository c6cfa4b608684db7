"""Where exported encoders live: one folder per model fingerprint in the user's cache.

    $CODELM_CACHE (else $XDG_CACHE_HOME/codelm, else ~/.cache/codelm)/onnx/<fingerprint>/
        model.onnx, model.int8.onnx (when kept), export.json (codelm.core.export)

An export is written to a temporary folder and renamed into place under a file lock, so two
processes never export the same model at once and a killed export leaves nothing half made.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

RECORD = "export.json"  # as codelm.core.export.RECORD (that module is not imported to read it)


def cache_root() -> Path:
    """codelm's cache folder: $CODELM_CACHE, else $XDG_CACHE_HOME/codelm, else ~/.cache/codelm."""
    if os.environ.get("CODELM_CACHE"):
        return Path(os.environ["CODELM_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "codelm"


def export_dir(fingerprint: str) -> Path:
    """The folder of the export of the weights with this fingerprint."""
    return cache_root() / "onnx" / fingerprint


def cached_export(fingerprint: str) -> dict | None:
    """The export record of these weights, or None when they were never exported."""
    record = export_dir(fingerprint) / RECORD
    return json.loads(record.read_text()) if record.is_file() else None


def ensure_export(model_dir: Path, fingerprint: str, int8: bool = True, kind: str = "encoder") -> tuple[Path, dict]:
    """(folder, record) of the ONNX export of `model_dir`, exporting it first if the cache has
    none, or none whose int8 graph the current export procedure tried when `int8` (this alone
    imports torch; one line on stderr says so). `kind`: "encoder" (codelm.core.export) or
    "reranker" (core.rerank_export)."""
    folder = export_dir(fingerprint)
    record = _usable(cached_export(fingerprint), int8)
    if record is not None:
        return folder, record
    from codelm.core.export import export_encoder, notice

    exporter = export_encoder
    if kind == "reranker":
        from codelm.core.rerank_export import export_reranker as exporter

    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{fingerprint}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = _usable(cached_export(fingerprint), int8)  # another process may have exported it meanwhile
        if record is None:
            notice(f"exporting {model_dir.name} ({kind}) to ONNX Runtime, once for these weights (cache: {folder})")
            tmp = folder.with_name(f"{fingerprint}.tmp-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                record = exporter(model_dir, tmp, int8=int8)
                shutil.rmtree(folder, ignore_errors=True)
                tmp.rename(folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return folder, record


def _usable(record: dict | None, int8: bool) -> dict | None:
    """The record if it serves: any export for fp32; for int8, one whose int8 graph was tried by
    the current export procedure (an older one may have kept more of the graph in fp32)."""
    from codelm.core.export import VERSION

    if record is None:
        return None
    current = record.get("int8_checked", True) and record.get("version", 1) >= VERSION
    return record if current or not int8 else None
