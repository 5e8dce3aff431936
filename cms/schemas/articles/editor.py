"""The editor API's article schemas: input (create, patch, import, workflow actions, summaries,
curated links) and output (editor views of articles, summaries, suggestions)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.clock import utcnow
from cms.pagination import MAX_LIMIT
from cms.schemas.articles.public import (
    ARTICLE_STATUS,
    ArticleCard,
    ArticleDetail,
    HeroImage,
    Neighbor,
    SummaryOut,
)
from cms.schemas.blocks import body_field
from cms.schemas.common import (
    MAX_INT,
    PLAIN_TEXT_PATTERN,
    Cursor,
    HttpUrl,
    PageQuery,
    PlainText,
    Slug,
    StrictSchema,
    UtcDateTime,
    db_int_range,
)


class EditorSummaryOut(SummaryOut):
    stale = fields.Boolean(required=True)
    approved = fields.Boolean(required=True)
    article_revision = fields.Integer(required=True)


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
