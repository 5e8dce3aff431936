"""Remembered answers to ``POST`` requests sent with an ``Idempotency-Key``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.clock import utcnow
from cms.extensions import db
from cms.models.types import JSONType, UTCDateTime


class IdempotencyKey(db.Model):
    """One per (user, key): the fingerprint of the request and the answer it got.

    Written in the same transaction as what the request created, so a key is remembered
    exactly when its write is committed.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column()
    response_body: Mapped[dict] = mapped_column(JSONType)
    article_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("articles.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
