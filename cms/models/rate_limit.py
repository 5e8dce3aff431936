"""Rate-limit counters kept in the database when no Redis is configured."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db


class RateLimitCounter(db.Model):
    """One fixed window of one limit and client: hits so far and when the window ends."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    count: Mapped[int] = mapped_column()
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)
