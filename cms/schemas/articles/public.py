"""Articles as the public API shows them: cards, detail, summary, related, and the public
queries. The editor API's schemas extend these (``editor.py``); ``dumpers.py`` builds the same
output without marshmallow for the hot read paths."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from cms.models import STATUSES
from cms.pagination import MAX_LIMIT
from cms.schemas.blocks import Attribution, body_field
from cms.schemas.common import (
    Cursor,
    HttpUrl,
    NamedChoice,
    PageQuery,
    PlainText,
    Slug,
    StrictSchema,
    UtcDateTime,
)
from cms.schemas.corrections import CorrectionOut
from cms.schemas.taxonomy import Ref, SourceRef

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
