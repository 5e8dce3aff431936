"""Corrections log: input of the editor API, output of both APIs."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.models import CORRECTION_KINDS
from cms.schemas.common import MAX_INT, NamedChoice, PlainText, StrictSchema, UtcDateTime
from cms.text import rfc3339

MAX_CORRECTION_LENGTH = 2000

CORRECTION_KIND = NamedChoice("CorrectionKind", CORRECTION_KINDS)


class CorrectionIn(StrictSchema):
    kind = fields.String(required=True, validate=CORRECTION_KIND)
    text = PlainText(
        required=True,
        validate=validate.Length(min=1, max=MAX_CORRECTION_LENGTH),
        metadata={
            "description": f"What was wrong and what is right; 1–{MAX_CORRECTION_LENGTH} "
            "characters of plain text."
        },
    )
    block_index = fields.Integer(
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=MAX_INT),
        metadata={"description": "The body block (0-based) it corrects, if one."},
    )

    @ma.validates("text")
    def _not_blank(self, value, **kwargs):
        if not value.strip():
            raise ma.ValidationError("Must not be blank.")


class HideIn(StrictSchema):
    reason = PlainText(required=True, validate=validate.Length(min=1, max=2000))

    @ma.validates("reason")
    def _not_blank(self, value, **kwargs):
        if not value.strip():
            raise ma.ValidationError("Must not be blank.")


class _Attribution(fields.Function):
    def __init__(self, **kwargs):
        super().__init__(
            lambda entry: None if entry.block_source is None else {"source": entry.block_source},
            **kwargs,
        )


class CorrectionOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(validate=CORRECTION_KIND)
    text = fields.String()
    block_index = fields.Integer(allow_none=True)
    attribution = _Attribution(
        allow_none=True,
        metadata={"description": "The source of the corrected block when it was corrected."},
    )
    created_at = UtcDateTime()


class EditorCorrectionOut(CorrectionOut):
    article_id = fields.Integer()
    created_by_id = fields.Integer(allow_none=True)
    hidden = fields.Boolean()
    hidden_at = UtcDateTime(allow_none=True)
    hidden_by_id = fields.Integer(allow_none=True)
    hidden_reason = fields.String(allow_none=True)


class CorrectedArticle(ma.Schema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    published_at = UtcDateTime()
    url = fields.String(metadata={"description": "The article's page on the front end."})


class CorrectionItem(CorrectionOut):
    """An entry of the site-wide log, with its article."""

    article = fields.Nested(CorrectedArticle)


def correction_data(entry) -> dict:
    """What ``CorrectionOut().dump(entry)`` gives."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "text": entry.text,
        "block_index": entry.block_index,
        "attribution": None if entry.block_source is None else {"source": entry.block_source},
        "created_at": rfc3339(entry.created_at),
    }
