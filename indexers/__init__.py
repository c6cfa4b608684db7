"""indexers: repositories to code units, embeddings, a FAISS + SQLite index, hybrid search."""

import logging

# faiss's loader logs at INFO each CPU build it tries ("Loading faiss with AVX512 support...");
# a command or a server that configures logging (MCP does) would print them all: keep warnings only
logging.getLogger("faiss.loader").setLevel(logging.WARNING)
