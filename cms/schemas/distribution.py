"""Feeds, sitemaps and takedowns: query and body schemas, and the JSON Feed document."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.models import TAKEDOWN_REASONS
from cms.schemas.articles.public import ARTICLE_STATUS
from cms.schemas.common import (
    Cursor,
    NamedChoice,
    PageQuery,
    PlainText,
    Slug,
    StrictSchema,
    UtcDateTime,
    db_int_range,
)

TAKEDOWN_REASON = NamedChoice("TakedownReason", TAKEDOWN_REASONS)


class FeedQuery(StrictSchema):
    """The article list's filters (``GET /api/v1/articles``)."""

    section = Slug()
    tag = Slug()
    author = Slug()
    source = Slug()
    language = fields.String(validate=validate.Length(min=2, max=16))


class CorrectionListQuery(PageQuery):
    cursor = Cursor(kinds=(int,))


class JsonFeedAuthor(ma.Schema):
    name = fields.String(required=True)


class JsonFeedItem(ma.Schema):
    id = fields.String(required=True, metadata={"description": "Stable: a tag URI of the id."})
    url = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String()
    content_html = fields.String(required=True)
    date_published = fields.String(required=True)
    date_modified = fields.String(required=True)
    authors = fields.List(fields.Nested(JsonFeedAuthor))
    tags = fields.List(fields.String())
    language = fields.String()
    image = fields.String()


class JsonFeed(ma.Schema):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""

    version = fields.String(required=True)
    title = fields.String(required=True)
    home_page_url = fields.String()
    feed_url = fields.String()
    description = fields.String()
    language = fields.String()
    items = fields.List(fields.Nested(JsonFeedItem), required=True)


class TakedownIn(StrictSchema):
    reason = fields.String(required=True, validate=TAKEDOWN_REASON)
    note = PlainText(
        load_default="",
        validate=validate.Length(max=5000),
        metadata={"description": "For the newsroom (audit log, editor API); never public."},
    )
    version = fields.Integer(
        validate=db_int_range,
        metadata={"description": "Optional: refuse (412) if the article changed since."},
    )


class RevokeIn(StrictSchema):
    version = fields.Integer(validate=db_int_range)


class TakedownOut(ma.Schema):
    id = fields.Integer()
    article_id = fields.Integer()
    reason = fields.String(validate=TAKEDOWN_REASON)
    note = fields.String()
    previous_status = fields.String(validate=ARTICLE_STATUS)
    created_at = UtcDateTime()
    created_by_id = fields.Integer(allow_none=True)
    revoked_at = UtcDateTime(allow_none=True)
    revoked_by_id = fields.Integer(allow_none=True)
