"""Article revisions and their diffs as the editor API shows them."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.schemas.articles.public import ARTICLE_STATUS
from cms.schemas.common import MAX_INT, Cursor, PageQuery, StrictSchema, UtcDateTime


class Actor(ma.Schema):
    id = fields.Integer()
    email = fields.String()


class RevisionOut(ma.Schema):
    number = fields.Integer(required=True)
    kind = fields.String(
        required=True,
        metadata={
            "description": "create, edit, restore, summary, related, or a workflow action "
            "(submit, publish, unpublish, archive, restore-draft, takedown, takedown-revoke)."
        },
    )
    changed = fields.List(fields.String(), required=True)
    status = fields.String(
        required=True,
        validate=ARTICLE_STATUS,
        metadata={"description": "Status after the change."},
    )
    article_version = fields.Integer(
        required=True, metadata={"description": "The article's version after the change."}
    )
    created_at = UtcDateTime(required=True)
    actor = fields.Nested(Actor, allow_none=True)
    detail = fields.Dict(
        allow_none=True,
        metadata={"title": "RevisionDetail", "description": "What else the change recorded."},
    )
    content_stored = fields.Function(
        lambda r: r.snapshot is not None,
        metadata={"description": "Whether this revision stored a copy of the content."},
    )


class RevisionDetailOut(RevisionOut):
    content = fields.Dict(
        metadata={"description": "The article's content fields right after this revision."}
    )


class RevisionQuery(PageQuery):
    cursor = Cursor(kinds=(int,))


class DiffQuery(StrictSchema):
    from_ = fields.Integer(
        data_key="from", required=True, validate=validate.Range(min=1, max=MAX_INT)
    )
    to = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_INT))


class FieldChange(ma.Schema):
    field = fields.String()
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class RevisionDiffOut(ma.Schema):
    from_revision = fields.Integer()
    to_revision = fields.Integer()
    fields_ = fields.List(fields.Nested(FieldChange), data_key="fields", attribute="fields")
    body_changed = fields.Boolean()
    body_diff = fields.String(metadata={"description": "Unified diff of the body's plain text."})
