"""The audit log: who did what to which resource, when, from where."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.clock import utcnow
from cms.extensions import db
from cms.models.types import JSONType, UTCDateTime


class AuditEvent(db.Model):
    """Append-only. ``actor_email`` is kept so the record survives the user's deletion."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_resource", "resource_type", "resource_id"),
        sa.Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str | None] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    resource_type: Mapped[str] = mapped_column(sa.String(32))
    resource_id: Mapped[str | None] = mapped_column(sa.String(200))
    detail: Mapped[dict | None] = mapped_column(JSONType)
    request_id: Mapped[str | None] = mapped_column(sa.String(128))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
