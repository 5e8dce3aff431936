"""Building blocks shared by the schemas of both APIs."""

from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import fields, validate

from cms.pagination import DEFAULT_LIMIT, MAX_LIMIT, BadCursor, decode_cursor
from cms.services.content.rendering import to_plain
from cms.text import rfc3339

# Integers sent by clients that reach the database (ids, versions, revision numbers) must fit
# an INTEGER column on PostgreSQL; beyond that they are a 400/422, not a database error.
MAX_INT = 2**31 - 1
db_int_range = validate.Range(min=0, max=MAX_INT)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_PATTERN = validate.Regexp(SLUG_RE, error="Use lowercase letters, digits and single hyphens.")
# Sections, tags, authors and sources keep their slugs in VARCHAR(100) columns
TAXONOMY_SLUG_LENGTH = 100

# Documented for URL fields: a sufficient form of what ``fields.Url`` accepts (an http(s) host
# name with a top-level domain, an optional port, path and query of visible ASCII), so that a
# client following the pattern is never refused. The server also accepts IP addresses.
HTTP_URL_PATTERN = (
    r"^https?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?::[0-9]{1,5})?(?:/|[/?][!-~]+)?$"
)
# Text readers see: markup is removed on input, so it must hold a letter or digit outside it.
PLAIN_TEXT_PATTERN = r"^[^<&]*?[0-9A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u4E00-\u9FFF]"


class NamedChoice(validate.OneOf):
    """One of ``choices``, documented once as the enum schema ``name`` (``ArticleStatus``), so
    that every field holding it refers to one type in the OpenAPI document and its clients."""

    def __init__(self, name: str, choices, **kwargs):
        super().__init__(choices, **kwargs)
        self.name = name


class StrictSchema(ma.Schema):
    """Unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = ma.RAISE


class Slug(fields.String):
    def __init__(self, max_length: int = 200, **kwargs):
        super().__init__(validate=[validate.Length(min=1, max=max_length), SLUG_PATTERN], **kwargs)


class PlainText(fields.String):
    """Text readers see as is (titles, captions, summaries): markup is removed on input."""

    def _deserialize(self, value, attr, data, **kwargs):
        return to_plain(super()._deserialize(value, attr, data, **kwargs))


class HttpUrl(fields.Url):
    def __init__(self, **kwargs):
        kwargs.setdefault("schemes", {"http", "https"})
        kwargs.setdefault("validate", validate.Length(max=2000))
        kwargs["metadata"] = {"pattern": HTTP_URL_PATTERN, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)


class UtcDateTime(fields.AwareDateTime):
    """RFC 3339 in UTC on output (``2026-11-27T09:30:00Z``); offsets required on input."""

    def __init__(self, **kwargs):
        super().__init__(format="iso", default_timezone=None, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return rfc3339(value)


class Cursor(fields.String):
    """An opaque keyset cursor; its decoded key types are given by ``kinds``."""

    def __init__(self, kinds: tuple, **kwargs):
        super().__init__(
            metadata={"description": "Opaque cursor from `meta.next_cursor`."}, **kwargs
        )
        self.kinds = kinds

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return decode_cursor(raw, self.kinds)
        except BadCursor as exc:
            raise ma.ValidationError(str(exc)) from exc


class PageQuery(StrictSchema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Page size, 1–{MAX_LIMIT}."},
    )
    count = fields.Boolean(load_default=False, metadata={"description": "Include `meta.total`."})


class EmptyQuery(StrictSchema):
    """For endpoints without query parameters: any parameter is an error."""


class PageMeta(ma.Schema):
    limit = fields.Integer(required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = fields.Integer()


def page_schema(
    item_schema: type[ma.Schema], name: str, meta: type[ma.Schema] = PageMeta
) -> type[ma.Schema]:
    """``{"data": [...], "meta": {...}}`` around ``item_schema``."""
    return type(
        name,
        (ma.Schema,),
        {
            "data": fields.List(fields.Nested(item_schema), required=True),
            "meta": fields.Nested(meta, required=True),
        },
    )
