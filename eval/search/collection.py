"""The documents the search evaluation searches: every article of the other evaluation sets
(``eval/related``: ``corpus.json``, ``wire.json``, ``wire2.json``; ``eval/summaries``:
``wire.json``, ``articles.json``), 288 in all, each named ``<set>:<id>``.

Articles without a publication time get one, spread over the weeks before the earliest dated
one, so every document has a distinct, reproducible place in "newest first".

    python eval/search/collection.py            # every document as plain text, for judging
    python eval/search/collection.py KEY ...    # only these
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

EVAL = Path(__file__).resolve().parents[1]
SETS = {
    "corpus": (EVAL / "related" / "corpus.json", "articles"),
    "wire": (EVAL / "related" / "wire.json", "articles"),
    "wire2": (EVAL / "related" / "wire2.json", "articles"),
    "sumwire": (EVAL / "summaries" / "wire.json", None),
    "long": (EVAL / "summaries" / "articles.json", None),
}
UNDATED_START = datetime(2024, 9, 1, 6, 0, tzinfo=UTC)


def _blocks(article: dict) -> list[dict]:
    if "blocks" in article:
        return article["blocks"]
    return [
        {"type": "paragraph", "text": p, "attribution": None}
        for p in article["text"].split("\n\n")
        if p.strip()
    ]


def documents() -> list[dict]:
    """Every document: ``key``, ``title``, ``subtitle``, ``blocks``, ``language``,
    ``published_at`` (aware datetime), and ``section``/``tags`` where its set has them."""
    docs = []
    undated = 0
    for name, (path, field) in SETS.items():
        data = json.loads(path.read_text(encoding="utf-8"))
        for article in data[field] if field else data:
            if article.get("published_at"):
                when = datetime.fromisoformat(article["published_at"].replace("Z", "+00:00"))
            else:
                when = UNDATED_START + timedelta(hours=7 * undated)
                undated += 1
            docs.append(
                {
                    "key": f"{name}:{article['id']}",
                    "title": article["title"],
                    "subtitle": article.get("subtitle") or "",
                    "blocks": _blocks(article),
                    "language": article.get("language", "en"),
                    "section": article.get("section"),
                    "tags": article.get("tags") or [],
                    "published_at": when,
                }
            )
    return docs


def plain_text(doc: dict) -> str:
    """The document as a reader sees its words: title, subtitle, then each block's text."""
    parts = [doc["title"], doc["subtitle"]]
    for block in doc["blocks"]:
        for field in ("text", "caption", "alt"):
            if block.get(field):
                parts.append(block[field])
        for item in block.get("items") or []:
            parts.append(item if isinstance(item, str) else item.get("text", ""))
    return "\n".join(p for p in parts if p)


if __name__ == "__main__":
    wanted = set(sys.argv[1:])
    for doc in documents():
        if wanted and doc["key"] not in wanted:
            continue
        print(f"=== {doc['key']} [{doc['language']}] {doc['published_at']:%Y-%m-%d}")
        print(plain_text(doc))
        print()
