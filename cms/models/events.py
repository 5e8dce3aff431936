"""The event log, what it last said about each article, and webhook endpoints with their
outbox of deliveries (``cms.services.events``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cms.extensions import db
from cms.models.types import JSONType, UTCDateTime


class Event(db.Model):
    """One public article event, written in the transaction of the change it records.

    ``sequence`` is given while the transaction holds the content generation's row lock, so
    sequences grow in commit order with no gaps: the change feed pages by it."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_recorded_at", "recorded_at"),)

    sequence: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    generation: Mapped[int] = mapped_column(sa.BigInteger)
    type: Mapped[str] = mapped_column(sa.String(40))
    article_id: Mapped[int] = mapped_column(index=True)  # no FK: the article may be deleted
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    article: Mapped[dict] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    cache_tags: Mapped[list] = mapped_column(JSONType)


class EventTopic(db.Model):
    """A section or tag an event concerns: the article's before (``in_before``) and after
    (``in_now``) the change. A feed filtered by a section or tag that the article left shows
    the event as ``article.unpublished``."""

    __tablename__ = "event_topics"

    kind: Mapped[str] = mapped_column(sa.String(8), primary_key=True)  # section | tag
    slug: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    sequence: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("events.sequence", ondelete="CASCADE"), primary_key=True
    )
    in_before: Mapped[bool] = mapped_column(default=False)
    in_now: Mapped[bool] = mapped_column(default=False)


class ArticleEventState(db.Model):
    """What the event log last told the public about an article: whether it is visible, a
    fingerprint of its public content, its slug, section and tags. Comparing it with the
    article at commit decides the event; it outlives the article to announce its deletion."""

    __tablename__ = "article_event_states"

    article_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    visible: Mapped[bool] = mapped_column(default=False)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    slug: Mapped[str | None] = mapped_column(sa.String(200))
    section: Mapped[str | None] = mapped_column(sa.String(200))
    tags: Mapped[list] = mapped_column(JSONType, default=list)


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    events: Mapped[list] = mapped_column(JSONType)
    filter_section: Mapped[str | None] = mapped_column(sa.String(200))
    filter_tag: Mapped[str | None] = mapped_column(sa.String(200))
    coalesce_seconds: Mapped[int] = mapped_column(default=0)
    secret: Mapped[str] = mapped_column(sa.String(100))
    previous_secret: Mapped[str | None] = mapped_column(sa.String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    @property
    def filters(self) -> dict:
        return {"section": self.filter_section, "tag": self.filter_tag}


class WebhookDelivery(db.Model):
    """One message to one endpoint: a row of the outbox, claimed by a worker with a lease.

    ``state``: ``pending`` (waiting or in flight while ``lease_until`` is ahead), ``delivered``,
    ``failed`` (gave up, or the endpoint answered 410), ``coalesced`` (merged into a later
    delivery for the same article), ``cancelled`` (the endpoint was disabled or deleted)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_order", "endpoint_id", "article_id", "sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    message_id: Mapped[str] = mapped_column(sa.String(40))  # webhook-id: the event id
    type: Mapped[str] = mapped_column(sa.String(40))
    sequence: Mapped[int | None] = mapped_column(sa.BigInteger)
    article_id: Mapped[int | None] = mapped_column()
    payload: Mapped[str] = mapped_column(sa.Text)  # the JSON body, the same on every attempt
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(sa.String(40))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    coalesced_into_id: Mapped[int | None] = mapped_column()

    attempts: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.number", cascade="all, delete-orphan", lazy="selectin"
    )


class WebhookAttempt(db.Model):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column()
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(default=0)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(sa.String(100))
