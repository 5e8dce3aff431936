"""Logins and their refresh-token sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.clock import utcnow
from cms.extensions import db
from cms.models.taxonomy import Author
from cms.models.types import UTCDateTime

ROLES = ("writer", "editor", "admin")


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16), default="writer")
    is_active: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("authors.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[Author | None] = relationship(lazy="joined")


class LoginSession(db.Model):
    """One login: the family of rotating refresh tokens. Revoking it revokes its access tokens.

    Stored in the database, so every app process sees a revocation at once.
    """

    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(64))
