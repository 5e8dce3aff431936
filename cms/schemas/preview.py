"""The preview link the editor API hands out."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from cms.schemas.common import UtcDateTime


class PreviewOut(ma.Schema):
    url = fields.String(required=True)
    token = fields.String(required=True)
    expires_at = UtcDateTime(required=True)
