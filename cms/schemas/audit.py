"""Audit log queries and events."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from cms.schemas.common import Cursor, PageQuery, UtcDateTime


class AuditQuery(PageQuery):
    cursor = Cursor(kinds=(int,))
    actor = fields.String(
        validate=validate.Length(min=1, max=320),
        metadata={"description": "A user id or email."},
    )
    action = fields.String(validate=validate.Length(min=1, max=64))
    resource_type = fields.String(validate=validate.Length(min=1, max=32))
    resource_id = fields.String(validate=validate.Length(min=1, max=200))
    since = fields.AwareDateTime(format="iso")
    until = fields.AwareDateTime(format="iso")


class AuditEventOut(ma.Schema):
    id = fields.Integer()
    at = UtcDateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_email = fields.String(allow_none=True)
    action = fields.String()
    resource_type = fields.String()
    resource_id = fields.String(allow_none=True)
    detail = fields.Dict()
    request_id = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
