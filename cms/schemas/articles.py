"""Article input (editor API) and output (public and editor API) schemas."""

from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from cms.models import STATUSES
from cms.pagination import MAX_LIMIT
from cms.schemas.blocks import Attribution, body_field
from cms.schemas.common import Cursor, HttpUrl, PageQuery, Slug, StrictSchema, UtcDateTime
from cms.schemas.taxonomy import Ref, SourceRef

API_PREFIX = "/api/v1"
FORMATS = ("blocks", "html", "text")


# --- shared pieces ----------------------------------------------------------------------------


class HeroImage(StrictSchema):
    url = HttpUrl(required=True)
    alt = fields.String(load_default="", validate=validate.Length(max=2000))
    caption = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    credit = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))


class KeyPoint(ma.Schema):
    text = fields.String(required=True)
    block_index = fields.Integer(allow_none=True)
    attribution = fields.Nested(Attribution, allow_none=True)


class SummaryOut(ma.Schema):
    tldr = fields.String(required=True)
    key_points = fields.List(fields.Nested(KeyPoint), required=True)
    origin = fields.String(required=True, validate=validate.OneOf(["editor", "auto"]))
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
    published_at = UtcDateTime()


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
    previous = fields.Nested(Neighbor, allow_none=True)
    next = fields.Nested(Neighbor, allow_none=True)


class RelatedItem(ma.Schema):
    kind = fields.String(validate=validate.OneOf(["curated", "suggested"]))
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


class DetailQuery(StrictSchema):
    formats = _CommaList(
        FORMATS, metadata={"description": "Body formats to include: blocks, html, text."}
    )


class RelatedQuery(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=MAX_LIMIT))
    scope = fields.String(load_default="site", validate=validate.OneOf(["site", "section"]))


# --- editor input -----------------------------------------------------------------------------


class ArticleIn(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    slug = Slug()
    subtitle = fields.String(load_default="", validate=validate.Length(max=2000))
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
    excerpt = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=2000))
    body = body_field(load_default=list)


class ArticlePatch(ArticleIn):
    version = fields.Integer(
        metadata={"description": "The version you read; alternative to `If-Match`."}
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
    version = fields.Integer()


class ActionIn(StrictSchema):
    version = fields.Integer()


class EditorArticleQuery(PageQuery):
    cursor = Cursor(kinds=(int,))
    status = fields.String(validate=validate.OneOf(STATUSES))
    author = Slug()
    section = Slug()
    created_by = fields.Integer()
    q = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Substring of the title."},
    )


class EditorArticleOut(ArticleDetail):
    status = fields.String()
    version = fields.Integer()
    body_revision = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    custom_excerpt = fields.String(allow_none=True)
    scheduled_for = UtcDateTime(allow_none=True)
    summary = fields.Nested(EditorSummaryOut, allow_none=True)

    class Meta:
        exclude = ("previous", "next")


class EditorArticleItem(ArticleCard):
    status = fields.String()
    version = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()


class KeyPointIn(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    block_index = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))


class SummaryIn(StrictSchema):
    tldr = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    key_points = fields.List(
        fields.Nested(KeyPointIn), load_default=list, validate=validate.Length(max=10)
    )
    approved = fields.Boolean(load_default=True)


class RelatedLinkIn(StrictSchema):
    article_id = fields.Integer(allow_none=True, load_default=None)
    url = HttpUrl(allow_none=True, load_default=None)
    title = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=500))
    label = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=100))

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
