"""Article revisions: one row per change, with a content snapshot only when content changed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.clock import utcnow
from cms.extensions import db
from cms.models.types import JSONType, UTCDateTime
from cms.models.user import User

# Like JSONType, but ``None`` is stored as SQL NULL (so "no snapshot" can be queried).
NullableJSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)


class Revision(db.Model):
    """One change of an article.

    ``snapshot`` holds the content fields written by this change: every metadata field when any
    content field changed, and ``body`` only when the body changed (or on the first revision).
    Status-only, summary and related-link changes store no snapshot, only ``detail``. The content
    at revision *n* is, field by field, the latest snapshot at or before *n* holding that field.
    """

    __tablename__ = "article_revisions"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "number", name="uq_article_revisions_article_number"),
        sa.Index("ix_article_revisions_article_version", "article_id", "article_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    # The article's ``version`` right after this change (what its ETag then named).
    article_version: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(32))
    changed: Mapped[list] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(sa.String(16))
    snapshot: Mapped[dict | None] = mapped_column(NullableJSON)
    detail: Mapped[dict | None] = mapped_column(NullableJSON)
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")
