"""Draft preview links: the per-article key that outstanding preview tokens must match."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.clock import utcnow
from cms.extensions import db
from cms.models.types import UTCDateTime


class PreviewKey(db.Model):
    """A preview token names its article and this random ``nonce``; revoking deletes the row,
    so every token issued before stops working (a new preview gets a new nonce)."""

    __tablename__ = "preview_keys"
    article_id: Mapped[int] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
