"""The public read path's output built without marshmallow, field for field what the schemas
in ``public.py`` dump (``tests/test_serialization.py`` compares them); the schemas stay the
contract (OpenAPI, editor output)."""

from __future__ import annotations

import orjson

from cms.schemas.articles.public import FORMATS, HeroImage, _links
from cms.schemas.corrections import correction_data
from cms.text import rfc3339

# --- fast public output -----------------------------------------------------------------------
# The public read path dumps many articles per request. These functions build exactly what the
# schemas above dump (tests/test_serialization.py compares them on every field) at a fraction of
# the cost; the schemas remain the contract (OpenAPI, editor output, reference for the tests).

_HERO_KEYS = tuple(HeroImage._declared_fields)


def _ref(obj) -> dict:
    return {"slug": obj.slug, "name": obj.name}


def _source_ref(obj) -> dict:
    return {"slug": obj.slug, "name": obj.name, "url": obj.url, "kind": obj.kind}


def card_data(article) -> dict:
    """What ``ArticleCard().dump(article)`` gives."""
    hero = article.hero_image
    section = article.section
    return {
        "id": article.id,
        "slug": article.slug,
        "title": article.title,
        "subtitle": article.subtitle,
        "section": None if section is None else _ref(section),
        "tags": [_ref(tag) for tag in article.tags],
        "authors": [_ref(author) for author in article.authors],
        "sources": [_source_ref(source) for source in article.sources],
        "language": article.language,
        "published_at": rfc3339(article.published_at),
        "first_published_at": rfc3339(article.first_published_at),
        "updated_at": rfc3339(article.updated_at),
        "excerpt": article.excerpt,
        "hero_image": None if hero is None else {k: hero[k] for k in _HERO_KEYS if k in hero},
        "canonical_url": article.canonical_url,
        "word_count": article.word_count,
        "reading_time_minutes": article.reading_time_minutes,
        "links": _links(article),
    }


def _key_point(point: dict) -> dict:
    out = {key: point[key] for key in ("text", "block_index") if key in point}
    if "attribution" in point:
        attribution = point["attribution"]
        out["attribution"] = (
            None if attribution is None else {k: v for k, v in attribution.items() if k == "source"}
        )
    return out


def summary_data(summary) -> dict:
    """What ``SummaryOut().dump(summary)`` gives."""
    points = summary.key_points
    return {
        "tldr": summary.tldr,
        "key_points": None if points is None else [_key_point(p) for p in points],
        "origin": summary.origin,
        "source_revision": summary.source_revision,
        "updated_at": rfc3339(summary.updated_at),
        "reading_time_seconds": summary.reading_time_seconds,
    }


def neighbor_data(article) -> dict | None:
    if article is None:
        return None
    return {
        "id": article.id,
        "slug": article.slug,
        "title": article.title,
        "published_at": rfc3339(article.published_at),
    }


def _detail_rest(view, formats: tuple[str, ...]) -> dict:
    """What the detail page shows after the card's fields."""
    out = {"status": "published", "created_at": rfc3339(view.created_at)}
    if "blocks" in formats:
        out["body"] = None if view.body is None else list(view.body)
    if "html" in formats:
        out["body_html"] = view.body_html
    if "text" in formats:
        out["body_text"] = view.body_text
    out["summary"] = None if view.summary is None else summary_data(view.summary)
    out["corrections"] = [correction_data(entry) for entry in view.corrections]
    out["previous"] = neighbor_data(view.previous)
    out["next"] = neighbor_data(view.next)
    return out


def detail_data(view, formats: tuple[str, ...] = FORMATS) -> dict:
    """What ``ArticleDetail(exclude=<formats not asked for>).dump(view)`` gives."""
    return {**card_data(view), **_detail_rest(view, formats)}


def detail_json(view, formats: tuple[str, ...] = FORMATS) -> bytes:
    """``detail_data`` as JSON; the card part copied from the stored card when there is one."""
    card = getattr(view, "card_json", None)
    if card is None:
        return orjson.dumps(detail_data(view, formats))
    rest = orjson.dumps(_detail_rest(view, formats))
    return card.encode()[:-1] + b"," + rest[1:]


def _card(article) -> dict | orjson.Fragment | None:
    """An article's card: its stored JSON when it was read as one (``cards.CardRow``)."""
    if article is None:
        return None
    stored = getattr(article, "json", None)
    return card_data(article) if stored is None else orjson.Fragment(stored)


def related_data(view) -> dict:
    """What ``RelatedOut().dump(view)`` gives."""
    return {
        "previous": neighbor_data(view.previous),
        "next": neighbor_data(view.next),
        "related": [
            {
                "kind": item["kind"],
                "article": _card(item["article"]),
                "url": item["url"],
                "title": item["title"],
                "label": item["label"],
                "score": None if item["score"] is None else float(item["score"]),
                "reason": item["reason"],
            }
            for item in view.related
        ],
    }


class CardDumper:
    """Duck-types ``ArticleCard(only=...)`` for ``page_response``: ``dump(items, many=True)``."""

    def __init__(self, only: list[str] | tuple[str, ...] | None = None):
        self.only = None if only is None else frozenset(only)

    def dump(self, obj, *, many: bool = False):
        if many:
            return [self.dump(item) for item in obj]
        out = card_data(obj)
        if self.only is not None:
            out = {key: value for key, value in out.items() if key in self.only}
        return out


class SummaryIncluder:
    """``include=summary``: what ``base`` dumps for each item, plus its ``summary``."""

    def __init__(self, base, summaries: dict):
        self.base = base
        self.summaries = summaries

    def dump(self, obj, *, many: bool = False):
        if many:
            return [self.dump(item) for item in obj]
        summary = self.summaries.get(obj.id)
        data = None if summary is None else summary_data(summary)
        out = self.base.dump(obj)
        if isinstance(out, orjson.Fragment):  # a stored card: append to its JSON object
            card = obj.json if isinstance(obj.json, bytes) else obj.json.encode()
            return orjson.Fragment(card[:-1] + b',"summary":' + orjson.dumps(data) + b"}")
        return {**out, "summary": data}


class StoredCardDumper:
    """``dump(items, many=True)`` of cards stored as JSON (``cards.CardRow``)."""

    def dump(self, obj, *, many: bool = False):
        if many:
            return [orjson.Fragment(item.json) for item in obj]
        return orjson.Fragment(obj.json)


class StoredHitDumper:
    """``dump(hits, many=True)`` of search hits (``search.service.Hit``): the stored card's
    JSON with the hit's ``score``, ``snippet`` and ``all_words`` added, what
    ``SearchHit().dump`` gives."""

    def dump(self, obj, *, many: bool = False):
        if many:
            return [self.dump(item) for item in obj]
        card = obj.card.json if isinstance(obj.card.json, bytes) else obj.card.json.encode()
        extra = orjson.dumps(
            {"score": float(obj.score), "snippet": obj.snippet, "all_words": obj.all_words}
        )
        return orjson.Fragment(card[:-1] + b"," + extra[1:])
