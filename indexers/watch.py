"""Keep an index fresh: re-index (incrementally) whenever files under the root change (watchdog)."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Callable, Sequence

from codelm.errors import CodelmError
from indexers import store
from indexers.embed import load_encoder
from indexers.index import DEFAULT_MODEL, IndexReport, build_index, default_index_dir, resolve_roots

IGNORED_EVENTS = {"opened", "closed_no_write"}


def watch(roots: str | Path | Sequence[str | Path] | None, index_dir: str | Path | None = None,
          model: str | None = None, stop: threading.Event | None = None,
          on_update: Callable[[IndexReport], None] | None = None,
          on_error: Callable[[CodelmError], None] | None = None, debounce_s: float = 0.2) -> None:
    """Re-index `roots` (one directory or several; None: those stored in `index_dir`) into
    `index_dir` after each burst of file changes under any of them, until `stop` is set.

    Changes inside the index directory and `.git` are ignored. A running `codelm serve` picks
    up each new generation by itself. A failed re-index is reported to `on_error` and retried
    at the next change.
    """
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    roots = resolve_roots(roots)
    if index_dir is None and not roots:
        raise CodelmError("nothing to watch: give the repository's directory or --index DIR")
    index_dir = Path(index_dir).resolve() if index_dir else default_index_dir(roots[0]).resolve()
    meta = {}
    if not roots or (index_dir / store.DB_NAME).is_file():
        db = store.connect(index_dir)
        meta = store.read_meta(db)
        db.close()
    roots = roots or resolve_roots(meta.get("roots") or [])
    if not roots:
        raise CodelmError(f"the index at {index_dir} records no repository: give the directories to watch")
    load_encoder(model or meta.get("model") or DEFAULT_MODEL).encode(["warm up"])  # now, not at the first save
    stop = stop or threading.Event()
    changed = threading.Event()

    def relevant(path: str) -> bool:
        p = Path(path)
        if p == index_dir or index_dir in p.parents:
            return False
        return any(root in p.parents and ".git" not in p.relative_to(root).parts for root in roots)

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            paths = [event.src_path, getattr(event, "dest_path", "")]
            if event.event_type not in IGNORED_EVENTS and any(p and relevant(str(p)) for p in paths):
                changed.set()

    # watchdog warns when a new index generation's folder reuses an inotify watch: harmless
    warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)
    observer = Observer()
    for root in roots:
        observer.schedule(Handler(), str(root), recursive=True)
    observer.start()
    try:
        while not stop.is_set():
            if not changed.wait(0.1):
                continue
            stop.wait(debounce_s)  # let a burst of saves settle
            changed.clear()
            try:
                report = build_index(roots, index_dir, model, progress=False)
            except CodelmError as err:
                if on_error:
                    on_error(err)
                continue
            if on_update:
                on_update(report)
    finally:
        observer.stop()
        observer.join()
