"""The content generation: one counter row, bumped by every commit that changes content."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from cms.extensions import db


class ContentGeneration(db.Model):
    """A single row (``id = 1``). Bumped inside the committing transaction, so its row lock
    orders such commits: a reader that sees value ``n`` sees every change made up to ``n``."""

    __tablename__ = "content_generation"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    # The last sequence number given to an event (``cms.services.events.log``): numbered under
    # this row's lock, events get their sequences in commit order.
    event_sequence: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    # Bumped by every commit that changes a webhook endpoint: a process keeps the endpoint list
    # in memory while this value stays the same (``cms.services.events.delivery``).
    webhooks_version: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
