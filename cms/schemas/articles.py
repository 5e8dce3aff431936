"""Article input (editor API) and output (public and editor API) schemas."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
import orjson
from marshmallow import fields, validate

from cms.clock import utcnow
from cms.models import STATUSES
from cms.pagination import MAX_LIMIT
from cms.schemas.blocks import Attribution, body_field
from cms.schemas.common import (
    MAX_INT,
    PLAIN_TEXT_PATTERN,
    Cursor,
    HttpUrl,
    NamedChoice,
    PageQuery,
    PlainText,
    Slug,
    StrictSchema,
    UtcDateTime,
    db_int_range,
)
from cms.schemas.corrections import CorrectionOut, correction_data
from cms.schemas.taxonomy import Ref, SourceRef
from cms.text import rfc3339

API_PREFIX = "/api/v1"
ARTICLE_STATUS = NamedChoice("ArticleStatus", STATUSES)
FORMATS = ("blocks", "html", "text")
# ``jsonld`` adds ``structured_data`` (schema.org NewsArticle); not in the default set.
DETAIL_FORMATS = (*FORMATS, "jsonld")


# --- shared pieces ----------------------------------------------------------------------------


class HeroImage(StrictSchema):
    url = HttpUrl(required=True)
    alt = PlainText(load_default="", validate=validate.Length(max=2000))
    caption = PlainText(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    credit = PlainText(allow_none=True, load_default=None, validate=validate.Length(max=500))


class KeyPoint(ma.Schema):
    text = fields.String(required=True)
    block_index = fields.Integer(allow_none=True)
    attribution = fields.Nested(Attribution, allow_none=True)


class SummaryOut(ma.Schema):
    tldr = fields.String(required=True)
    key_points = fields.List(fields.Nested(KeyPoint), required=True)
    origin = fields.String(required=True, validate=NamedChoice("SummaryOrigin", ["editor", "auto"]))
    source_revision = fields.Integer(required=True)
    updated_at = UtcDateTime(required=True)
    reading_time_seconds = fields.Integer(required=True)


class EditorSummaryOut(SummaryOut):
    stale = fields.Boolean(required=True)
    approved = fields.Boolean(required=True)
    article_revision = fields.Integer(required=True)


class Neighbor(ma.Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    # null for an unpublished article (editor API: curated links and suggestions)
    published_at = UtcDateTime(allow_none=True)


def _links(article) -> dict:
    base = f"{API_PREFIX}/articles/{article.slug}"
    return {"self": base, "summary": f"{base}/summary", "related": f"{base}/related"}


# --- public output ----------------------------------------------------------------------------


class ArticleCard(ma.Schema):
    """A list item: everything but the body."""

    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    subtitle = fields.String()
    section = fields.Nested(Ref, allow_none=True)
    tags = fields.List(fields.Nested(Ref))
    authors = fields.List(fields.Nested(Ref))
    sources = fields.List(fields.Nested(SourceRef))
    language = fields.String()
    published_at = UtcDateTime()
    first_published_at = UtcDateTime()
    updated_at = UtcDateTime()
    excerpt = fields.String()
    hero_image = fields.Nested(HeroImage, allow_none=True)
    canonical_url = fields.String(allow_none=True)
    word_count = fields.Integer()
    reading_time_minutes = fields.Integer()
    links = fields.Function(_links)


CARD_FIELDS = tuple(ArticleCard._declared_fields)


class ArticleDetail(ArticleCard):
    status = fields.Constant("published")
    created_at = UtcDateTime()
    body = body_field()
    body_html = fields.String()
    body_text = fields.String()
    summary = fields.Nested(SummaryOut, allow_none=True)
    corrections = fields.List(
        fields.Nested(CorrectionOut),
        metadata={"description": "The corrections log, oldest first."},
    )
    previous = fields.Nested(Neighbor, allow_none=True)
    next = fields.Nested(Neighbor, allow_none=True)
    structured_data = fields.Dict(
        metadata={"description": "schema.org NewsArticle JSON-LD; only with `formats=jsonld`."}
    )


class ArticleListItem(ArticleCard):
    """A list item; with ``include=summary`` also the article's summary."""

    summary = fields.Nested(
        SummaryOut,
        allow_none=True,
        metadata={"description": "Only with `include=summary`; null for an article without one."},
    )


class RelatedItem(ma.Schema):
    kind = fields.String(validate=NamedChoice("RelatedKind", ["curated", "suggested"]))
    article = fields.Nested(ArticleCard, allow_none=True)
    url = fields.String(allow_none=True)
    title = fields.String()
    label = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)
    reason = fields.String(allow_none=True)


class RelatedOut(ma.Schema):
    previous = fields.Nested(Neighbor, allow_none=True)
    next = fields.Nested(Neighbor, allow_none=True)
    related = fields.List(fields.Nested(RelatedItem))


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


def related_data(view) -> dict:
    """What ``RelatedOut().dump(view)`` gives."""
    return {
        "previous": neighbor_data(view.previous),
        "next": neighbor_data(view.next),
        "related": [
            {
                "kind": item["kind"],
                "article": None if item["article"] is None else card_data(item["article"]),
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
    """``dump(items, many=True)`` of cards stored as JSON (``documents.StoredCard``)."""

    def dump(self, obj, *, many: bool = False):
        if many:
            return [orjson.Fragment(item.json) for item in obj]
        return orjson.Fragment(obj.json)


# --- public queries ---------------------------------------------------------------------------


class _CommaList(fields.String):
    """``a,b,c`` in a query string, each item from ``choices``."""

    def __init__(self, choices, **kwargs):
        one = "(?:" + "|".join(choices) + ")"
        kwargs["metadata"] = {"pattern": f"^{one}(?:,{one})*$", **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        items = [x.strip() for x in raw.split(",") if x.strip()]
        unknown = sorted(set(items) - set(self.choices))
        if unknown or not items:
            raise ma.ValidationError(
                f"Unknown value(s) {', '.join(unknown) or '(empty)'}; "
                f"choose from: {', '.join(self.choices)}."
            )
        return list(dict.fromkeys(items))


class ArticleFilters(StrictSchema):
    section = Slug()
    tag = Slug()
    author = Slug()
    source = Slug()
    language = fields.String(validate=validate.Length(min=2, max=16))
    published_after = fields.AwareDateTime(format="iso")
    published_before = fields.AwareDateTime(format="iso")


class ArticleListQuery(PageQuery, ArticleFilters):
    cursor = Cursor(kinds=(datetime, int))
    fields = _CommaList(
        CARD_FIELDS,
        data_key="fields",
        metadata={"description": "Sparse fieldset, comma-separated: " + ", ".join(CARD_FIELDS)},
    )
    include = _CommaList(
        ("summary",),
        metadata={
            "description": "`summary`: each item also carries its article's summary (as "
            "`/articles/{slug}/summary` gives it), so a front page of cards with their `tldr` "
            "is one request."
        },
    )


class DetailQuery(StrictSchema):
    formats = _CommaList(
        DETAIL_FORMATS,
        metadata={
            "description": "Body formats to include: blocks, html, text (the default: all "
            "three); jsonld adds `structured_data`, a schema.org NewsArticle."
        },
    )


class RelatedQuery(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_LIMIT))
    scope = fields.String(
        load_default="site", validate=NamedChoice("RelatedScope", ["site", "section"])
    )


# --- editor input -----------------------------------------------------------------------------


class ArticleIn(StrictSchema):
    title = PlainText(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"pattern": PLAIN_TEXT_PATTERN},
    )
    slug = Slug()
    subtitle = PlainText(load_default="", validate=validate.Length(max=2000))
    section = Slug(allow_none=True, load_default=None)
    tags = fields.List(Slug(), load_default=list, validate=validate.Length(max=50))
    authors = fields.List(Slug(), load_default=list, validate=validate.Length(max=20))
    sources = fields.List(Slug(), load_default=list, validate=validate.Length(max=50))
    language = fields.String(
        load_default="en",
        validate=validate.Regexp(
            r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", error="Use a language tag like en or de-AT."
        ),
    )
    hero_image = fields.Nested(HeroImage, allow_none=True, load_default=None)
    canonical_url = HttpUrl(allow_none=True, load_default=None)
    excerpt = PlainText(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    body = body_field(load_default=list)


class ArticleImport(ArticleIn):
    """One line of ``flask --app wsgi import``: a create body plus its status."""

    status = fields.String(load_default="draft", validate=validate.OneOf(["draft", "published"]))
    published_at = UtcDateTime(allow_none=True, load_default=None)

    @ma.validates_schema
    def _published_at_needs_published(self, data, **kwargs):
        if data.get("published_at") is not None and data.get("status") != "published":
            raise ma.ValidationError(
                "Only a published article has a publication time.", "published_at"
            )


class ArticlePatch(ArticleIn):
    version = fields.Integer(
        validate=db_int_range,
        metadata={"description": "The version you read; alternative to `If-Match`."},
    )

    class Meta:
        unknown = ma.RAISE


class PublishIn(StrictSchema):
    publish_at = fields.AwareDateTime(
        format="iso",
        allow_none=True,
        load_default=None,
        metadata={"description": "Future time to schedule; omitted or past: publish now."},
    )
    version = fields.Integer(validate=db_int_range)


class ActionIn(StrictSchema):
    version = fields.Integer(validate=db_int_range)


class EditorArticleQuery(PageQuery):
    cursor = Cursor(kinds=(int,))
    status = fields.String(validate=ARTICLE_STATUS)
    author = Slug()
    section = Slug()
    created_by = fields.Integer(validate=db_int_range)
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Substring of the title."},
    )


class _EffectiveStatus(fields.String):
    """The status as of now: a scheduled article whose time has come reads as ``published``."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj.effective_status(utcnow())


class _ScheduledFor(UtcDateTime):
    """When a scheduled article goes live; null once it has, or when it is not scheduled."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj.published_at if obj.effective_status(utcnow()) == "scheduled" else None


class PreviewArticleOut(ArticleDetail):
    """The public detail shape, with the article's real status (a preview is usually a draft)."""

    status = _EffectiveStatus(validate=ARTICLE_STATUS)
    published_at = UtcDateTime(allow_none=True)
    first_published_at = UtcDateTime(allow_none=True)


class EditorArticleOut(ArticleDetail):
    status = _EffectiveStatus(validate=ARTICLE_STATUS)
    published_at = UtcDateTime(allow_none=True)  # null until first published
    first_published_at = UtcDateTime(allow_none=True)
    version = fields.Integer()
    body_revision = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    custom_excerpt = fields.String(allow_none=True)
    scheduled_for = _ScheduledFor(allow_none=True)
    summary = fields.Nested(EditorSummaryOut, allow_none=True)

    class Meta:
        exclude = ("previous", "next", "corrections", "structured_data")


class EditorArticleItem(ArticleCard):
    status = _EffectiveStatus(validate=ARTICLE_STATUS)
    published_at = UtcDateTime(allow_none=True)  # null until first published
    first_published_at = UtcDateTime(allow_none=True)
    version = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()


class KeyPointIn(StrictSchema):
    text = PlainText(
        required=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"pattern": PLAIN_TEXT_PATTERN},
    )
    block_index = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=0, max=MAX_INT)
    )


class SummaryIn(StrictSchema):
    tldr = PlainText(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"pattern": PLAIN_TEXT_PATTERN},
    )
    key_points = fields.List(
        fields.Nested(KeyPointIn), load_default=list, validate=validate.Length(max=10)
    )
    approved = fields.Boolean(load_default=True)


class RelatedLinkIn(StrictSchema):
    article_id = fields.Integer(allow_none=True, load_default=None, validate=db_int_range)
    url = HttpUrl(allow_none=True, load_default=None)
    title = PlainText(allow_none=True, load_default=None, validate=validate.Length(max=500))
    label = PlainText(allow_none=True, load_default=None, validate=validate.Length(max=100))

    @ma.validates_schema
    def _one_target(self, data, **kwargs):
        if (data.get("article_id") is None) == (data.get("url") is None):
            raise ma.ValidationError("Give either article_id or url.", "article_id")
        if data.get("url") and not data.get("title"):
            raise ma.ValidationError("An external link needs a title.", "title")


class RelatedLinksIn(StrictSchema):
    links = fields.List(
        fields.Nested(RelatedLinkIn), required=True, validate=validate.Length(max=50)
    )


class EditorRelatedLink(ma.Schema):
    position = fields.Integer()
    article_id = fields.Integer(attribute="target_id", allow_none=True)
    article = fields.Nested(Neighbor, attribute="target", allow_none=True)
    url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    label = fields.String(allow_none=True)


class EditorRelatedOut(ma.Schema):
    links = fields.List(fields.Nested(EditorRelatedLink))


class SuggestionQuery(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))


class EditorSuggestion(ma.Schema):
    article = fields.Nested(Neighbor)
    status = fields.String(validate=ARTICLE_STATUS)
    score = fields.Float()
    reason = fields.String()


class EditorSuggestionsOut(ma.Schema):
    suggestions = fields.List(fields.Nested(EditorSuggestion))
