"""Events: the event log, the change feed, webhook endpoints and their deliveries (§7).

- ``log``: which event a commit produces and writing it, in the same transaction;
  :func:`record` for what comparison cannot name (``article.corrected``, a takedown's reason).
- ``feed``: the public change feed and the log's retention.
- ``webhooks``: the admin's endpoints; ``delivery``: the outbox, signing, sending, retries;
  ``targets``: which URLs may receive webhooks.
"""

from sqlalchemy.orm import Session

from cms.services import generation
from cms.services.events import delivery, log
from cms.services.events.log import (
    CORRECTED,
    EVENT_TYPES,
    PUBLISHED,
    UNPUBLISHED,
    UPDATED,
    listen,
    publish_due,
    record,
)


def write(session: Session, bumped: generation.Bumped) -> None:
    """After the content generation's bump, under its lock (``generation.listen(then=...)``):
    number and store the commit's events, and queue their webhook deliveries in the same
    transaction (the outbox)."""
    written = log.write(session, bumped)
    if written:
        delivery.fan_out(session, written, bumped)


__all__ = [
    "CORRECTED",
    "EVENT_TYPES",
    "PUBLISHED",
    "UNPUBLISHED",
    "UPDATED",
    "listen",
    "publish_due",
    "record",
    "write",
]
