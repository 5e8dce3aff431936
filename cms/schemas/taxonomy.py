"""Sections, tags, authors and sources: references, public views and editor input."""

from __future__ import annotations

from marshmallow import fields, validate

from cms.models import SOURCE_KINDS
from cms.schemas.common import TAXONOMY_SLUG_LENGTH, HttpUrl, NamedChoice, Slug, StrictSchema

SOURCE_KIND = NamedChoice("SourceKind", SOURCE_KINDS)


class Ref(StrictSchema):
    slug = fields.String(required=True)
    name = fields.String(required=True)


class SourceRef(Ref):
    url = fields.String(allow_none=True)
    kind = fields.String(validate=SOURCE_KIND)


class _Attributes:
    """Dumps an entry by its attributes: the services give rows of columns (attribute access
    only), where marshmallow would try each field as a key first."""

    def get_attribute(self, obj, attr, default):
        return getattr(obj, attr, default)


class SectionOut(_Attributes, Ref):
    description = fields.String()
    article_count = fields.Integer()


class TagOut(_Attributes, Ref):
    article_count = fields.Integer()


class AuthorOut(_Attributes, Ref):
    bio = fields.String()
    avatar_url = fields.String(allow_none=True)
    article_count = fields.Integer()


class SourceOut(_Attributes, SourceRef):
    article_count = fields.Integer()


_name = {"validate": validate.Length(min=1, max=200)}


class SectionIn(StrictSchema):
    slug = Slug(max_length=TAXONOMY_SLUG_LENGTH)
    name = fields.String(required=True, **_name)
    description = fields.String(load_default="", validate=validate.Length(max=5000))


class TagIn(StrictSchema):
    slug = Slug(max_length=TAXONOMY_SLUG_LENGTH)
    name = fields.String(required=True, **_name)


class AuthorIn(StrictSchema):
    slug = Slug(max_length=TAXONOMY_SLUG_LENGTH)
    name = fields.String(required=True, **_name)
    bio = fields.String(load_default="", validate=validate.Length(max=5000))
    avatar_url = HttpUrl(allow_none=True, load_default=None)


class SourceIn(StrictSchema):
    slug = Slug(max_length=TAXONOMY_SLUG_LENGTH)
    name = fields.String(required=True, **_name)
    url = HttpUrl(allow_none=True, load_default=None)
    kind = fields.String(load_default="newspaper", validate=SOURCE_KIND)


TAXONOMY_IN = {"sections": SectionIn, "tags": TagIn, "authors": AuthorIn, "sources": SourceIn}
TAXONOMY_OUT = {"sections": SectionOut, "tags": TagOut, "authors": AuthorOut, "sources": SourceOut}
