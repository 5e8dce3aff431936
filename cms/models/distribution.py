"""What newsroom distribution keeps beside articles: corrections and takedowns."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.clock import utcnow
from cms.extensions import db
from cms.models.types import UTCDateTime

CORRECTION_KINDS = ("correction", "clarification", "update", "retraction")
TAKEDOWN_REASONS = ("legal", "expired", "other")


class Correction(db.Model):
    """One entry of an article's corrections log: appended, never edited or deleted.

    Only the ``hidden_*`` columns may be set, once, by an admin
    (``cms.services.distribution.corrections`` refuses any other change at flush time). The
    foreign key is ``RESTRICT``: an article with corrections cannot be deleted, so the log
    cannot vanish with it.
    """

    __tablename__ = "corrections"
    __table_args__ = (sa.Index("ix_corrections_article_id", "article_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    text: Mapped[str] = mapped_column(sa.Text)
    # The block it corrects (index into the body when written) and that block's source then.
    block_index: Mapped[int | None] = mapped_column()
    block_source: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    hidden_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None


class Takedown(db.Model):
    """An admin's takedown of an article: while ``revoked_at`` is null the article's status is
    ``taken_down`` and its public URLs answer 410 with ``reason``."""

    __tablename__ = "takedowns"
    __table_args__ = (sa.Index("ix_takedowns_article_id", "article_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    previous_status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
