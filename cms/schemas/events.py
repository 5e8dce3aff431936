"""The change feed, events and webhook endpoints."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.schemas.articles.public import _CommaList
from cms.schemas.common import (
    Cursor,
    NamedChoice,
    PageMeta,
    PageQuery,
    Slug,
    StrictSchema,
    UtcDateTime,
    page_schema,
)
from cms.services.events import EVENT_TYPES

# --- change feed -----------------------------------------------------------------------------

EVENT_TYPE = NamedChoice("EventType", EVENT_TYPES)
DELIVERY_STATE = NamedChoice(
    "DeliveryState", ["pending", "delivered", "failed", "coalesced", "cancelled"]
)


class ChangesQuery(StrictSchema):
    cursor = Cursor(kinds=(int,))
    limit = PageQuery._declared_fields["limit"]
    type = _CommaList(
        EVENT_TYPES,
        metadata={"description": "Only these event types, comma-separated."},
    )
    section = Slug(metadata={"description": "Events of this section (including removals)."})
    tag = Slug(metadata={"description": "Events of this tag (including removals)."})


class TaxonomyRef(ma.Schema):
    slug = fields.String()
    name = fields.String()


class EventArticle(ma.Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    previous_slug = fields.String()
    section = fields.Nested(TaxonomyRef, allow_none=True)
    tags = fields.List(fields.Nested(TaxonomyRef))
    url = fields.String()
    published_at = fields.String()
    updated_at = fields.String()


class EventOut(ma.Schema):
    id = fields.String(metadata={"description": "Stable event id; the `webhook-id` of webhooks."})
    sequence = fields.Integer(metadata={"description": "Commit order, gap-free."})
    type = fields.String(validate=EVENT_TYPE)
    occurred_at = fields.String()
    article = fields.Nested(EventArticle)
    reason = fields.String(allow_none=True)
    cache_tags = fields.List(fields.String())


class ChangesMeta(PageMeta):
    has_more = fields.Boolean(
        metadata={"description": "More events now; else poll `next_cursor` later."}
    )


class ChangesPage(ma.Schema):
    data = fields.List(fields.Nested(EventOut), required=True)
    meta = fields.Nested(ChangesMeta, required=True)


class LatestOut(ma.Schema):
    cursor = fields.String(required=True)


# --- webhooks --------------------------------------------------------------------------------


class WebhookFilters(StrictSchema):
    section = Slug(allow_none=True)
    tag = Slug(allow_none=True)


def _url_field(**kwargs):
    return fields.Url(
        schemes={"http", "https"},
        require_tld=False,
        validate=validate.Length(max=2000),
        error_messages={"invalid": "Not a valid http(s) URL."},
        **kwargs,
    )


_events_field = dict(
    validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    metadata={"description": "Event types to deliver: " + ", ".join(EVENT_TYPES)},
)


class WebhookIn(StrictSchema):
    url = _url_field(required=True)
    events = fields.List(fields.String(validate=EVENT_TYPE), required=True, **_events_field)
    description = fields.String(load_default="", validate=validate.Length(max=500))
    filters = fields.Nested(WebhookFilters, load_default=None, allow_none=True)
    coalesce_seconds = fields.Integer(load_default=0, validate=validate.Range(min=0, max=3600))


class WebhookPatch(StrictSchema):
    url = _url_field()
    events = fields.List(fields.String(validate=EVENT_TYPE), **_events_field)
    description = fields.String(validate=validate.Length(max=500))
    filters = fields.Nested(WebhookFilters, allow_none=True)
    coalesce_seconds = fields.Integer(validate=validate.Range(min=0, max=3600))
    enabled = fields.Boolean()


class WebhookOut(ma.Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String())
    filters = fields.Dict()
    coalesce_seconds = fields.Integer()
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    disabled_at = UtcDateTime(allow_none=True)
    failing_since = UtcDateTime(allow_none=True)
    previous_secret_until = UtcDateTime(
        allow_none=True, metadata={"description": "Until then the old secret signs too."}
    )
    created_at = UtcDateTime()
    updated_at = UtcDateTime()


class WebhookWithSecret(WebhookOut):
    secret = fields.String(
        metadata={"description": "The signing secret (`whsec_…`); shown only in this answer."}
    )


WebhookPage = page_schema(WebhookOut, "WebhookPage")


class WebhookQuery(PageQuery):
    cursor = Cursor(kinds=(int,))


class AttemptOut(ma.Schema):
    number = fields.Integer()
    attempted_at = UtcDateTime()
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    error = fields.String(allow_none=True)
    next_retry_at = UtcDateTime(allow_none=True)
    worker = fields.String(allow_none=True)


class DeliveryOut(ma.Schema):
    id = fields.Integer()
    webhook_id = fields.String(attribute="message_id")
    type = fields.String()
    sequence = fields.Integer(allow_none=True)
    article_id = fields.Integer(allow_none=True)
    state = fields.String(validate=DELIVERY_STATE)
    attempt_count = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    completed_at = UtcDateTime(allow_none=True)
    coalesced_into_id = fields.Integer(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptOut))


DeliveryPage = page_schema(DeliveryOut, "DeliveryPage")


class DeliveryQuery(PageQuery):
    cursor = Cursor(kinds=(int,))
    state = fields.String(validate=DELIVERY_STATE)
