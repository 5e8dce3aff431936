"""Cost of the semantic related-articles backend: model load, embedding, neighbour search.

    python bench/embedding_bench.py [--sizes 5000,20000,100000]

Measures, in one process on this machine:

1. loading the model (``embeddings.embed`` on a first text: the onnxruntime session and the
   tokenizer), once per process;
2. embedding each article of ``eval/related/wire.json`` (short wire copy) and
   ``eval/related/corpus.json`` (120-250 words), one text at a time as the service does, after a
   warm-up; p50 and p95 per article and the word pieces read;
3. ``embeddings.nearest`` (brute-force float32 dot products in numpy) over N stored vectors,
   for each N of ``--sizes``, from the stored bytes as the service reads them (random unit
   vectors: the cost does not depend on the values). The service searches the newest
   ``suggestions.EMBEDDING_WINDOW`` vectors; reading them from the database is not included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cms.services.related import embeddings  # noqa: E402


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5000,20000,100000")
    args = parser.parse_args()
    if not embeddings.is_available():
        sys.exit("needs the semantic extra: pip install -e .[semantic]")
    started = time.perf_counter()
    embeddings.embed(["warm up"])
    print(f"model load: {_ms(time.perf_counter() - started)} ms")

    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(embeddings.TOKENIZER_PATH))
    tokenizer.enable_truncation(max_length=embeddings.MAX_WORD_PIECES)
    tokenizer.no_padding()
    for name in ("wire", "corpus"):
        data = json.loads((ROOT / "eval" / "related" / f"{name}.json").read_text())
        texts = [
            embeddings.article_text(a["title"], a.get("subtitle", ""), a["text"])
            for a in data["articles"]
        ]
        embeddings.embed(texts[:3])
        times = []
        for text in texts:
            t = time.perf_counter()
            embeddings.embed([text])
            times.append(time.perf_counter() - t)
        pieces = statistics.median(len(tokenizer.encode(t).ids) for t in texts)
        times.sort()
        print(
            f"embed {name}.json: {len(texts)} articles, median {pieces:.0f} word pieces, "
            f"p50 {_ms(statistics.median(times))} ms, p95 {_ms(times[int(0.95 * len(times))])} ms"
        )

    import numpy as np

    rng = np.random.default_rng(1)
    query = rng.standard_normal(embeddings.EMBEDDING_DIM).astype(np.float32)
    query /= np.linalg.norm(query)
    for size in (int(s) for s in args.sizes.split(",")):
        matrix = rng.standard_normal((size, embeddings.EMBEDDING_DIM)).astype("<f4")
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        rows = [(i, matrix[i].tobytes()) for i in range(size)]
        times = []
        for _ in range(5):
            t = time.perf_counter()
            embeddings.nearest(query, rows, 50)
            times.append(time.perf_counter() - t)
        print(f"nearest 50 of {size:,} vectors: median {_ms(statistics.median(times))} ms")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
