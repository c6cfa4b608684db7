"""indexers: repositories to code units, embeddings, a FAISS + SQLite index, hybrid search."""
