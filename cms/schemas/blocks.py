"""The article body: an ordered list of typed blocks, validated per type."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.schemas.common import HttpUrl, Slug, StrictSchema

MAX_TEXT = 20_000
MAX_BLOCKS = 1_000


def _text(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=MAX_TEXT), **kwargs)


def _plain(**kwargs):
    return fields.String(
        allow_none=True, load_default=None, validate=validate.Length(max=2000), **kwargs
    )


class Attribution(StrictSchema):
    source = Slug(required=True, metadata={"description": "Slug of a Source."})


class _Block(StrictSchema):
    type = fields.String(required=True)
    attribution = fields.Nested(
        Attribution,
        allow_none=True,
        load_default=None,
        metadata={"description": "The source this block reports from."},
    )


class ParagraphBlock(_Block):
    text = _text(required=True, metadata={"description": "Inline HTML: b, strong, i, em, a href."})


class HeadingBlock(_Block):
    text = _text(required=True)
    level = fields.Integer(load_default=2, validate=validate.Range(min=2, max=6))


class QuoteBlock(_Block):
    text = _text(required=True)
    cite = _plain()


class ListBlock(_Block):
    ordered = fields.Boolean(load_default=False)
    items = fields.List(_text(), required=True, validate=validate.Length(min=1, max=500))


class ImageBlock(_Block):
    url = HttpUrl(required=True)
    alt = fields.String(load_default="", validate=validate.Length(max=2000))
    caption = _plain()
    credit = _plain()


class EmbedBlock(_Block):
    url = HttpUrl(required=True)
    title = _plain()
    caption = _plain()


BLOCK_SCHEMAS: dict[str, type[ma.Schema]] = {
    "paragraph": ParagraphBlock,
    "heading": HeadingBlock,
    "quote": QuoteBlock,
    "list": ListBlock,
    "image": ImageBlock,
    "embed": EmbedBlock,
}
_INSTANCES = {name: schema() for name, schema in BLOCK_SCHEMAS.items()}


class Block(fields.Field):
    """One block; its ``type`` picks the schema that validates the rest."""

    def __init__(self, **kwargs):
        super().__init__(
            metadata={
                "oneOf": [
                    {"$ref": f"#/components/schemas/{s.__name__}"} for s in BLOCK_SCHEMAS.values()
                ],
                "description": "A body block; `type` is one of " + ", ".join(BLOCK_SCHEMAS),
            },
            **kwargs,
        )

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ma.ValidationError("A block must be an object.")
        kind = value.get("type")
        schema = _INSTANCES.get(kind) if isinstance(kind, str) else None
        if schema is None:
            raise ma.ValidationError({"type": [f"Must be one of: {', '.join(BLOCK_SCHEMAS)}."]})
        return schema.load(value)

    def _serialize(self, value, attr, obj, **kwargs):
        return value


def body_field(**kwargs) -> fields.List:
    return fields.List(Block(), validate=validate.Length(max=MAX_BLOCKS), **kwargs)
