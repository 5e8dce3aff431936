"""The public change feed (``GET /api/v1/changes``) and the event log's retention.

The feed pages by ``sequence``, which the log gives in commit order without gaps (see
``log.write``), so a consumer following cursors sees each event once, even when transactions
commit out of the order they began in. A feed filtered by section or tag also shows what left
it: an article moved out of the section reads there as ``article.unpublished``.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from cms.clock import utcnow
from cms.errors import CmsError
from cms.extensions import db
from cms.models import Event, EventTopic, WebhookDelivery
from cms.pagination import Page, encode_cursor
from cms.services.events.log import PUBLISHED, UNPUBLISHED, UPDATED, as_seen_through, public_event


class CursorExpired(CmsError):
    status = 410
    type = "urn:cms:problem:cursor-expired"


def retention() -> timedelta:
    return timedelta(days=current_app.config["CMS_CHANGES_RETENTION_DAYS"])


def latest_cursor() -> str:
    """The present position: follow it to get only what happens from now on."""
    head = db.session.execute(sa.select(sa.func.max(Event.sequence))).scalar() or 0
    return encode_cursor([head])


def _check_not_expired(after: int, cutoff) -> None:
    newest = db.session.execute(sa.select(sa.func.max(Event.sequence))).scalar()
    if newest is None or after >= newest:
        return
    oldest_kept = db.session.execute(
        sa.select(sa.func.min(Event.sequence)).where(Event.recorded_at >= cutoff)
    ).scalar()
    if oldest_kept is None or after + 1 < oldest_kept:
        days = retention().days
        raise CursorExpired(
            f"This cursor is older than the change feed's retention ({days} days): events after "
            "it are gone. Take /api/v1/changes/latest, re-crawl the articles, then follow the "
            "feed from that cursor.",
        )


def list_changes(
    *,
    limit: int,
    cursor: list | None = None,
    types: list[str] | None = None,
    section: str | None = None,
    tag: str | None = None,
) -> Page:
    """Events after ``cursor``, oldest first. ``next_cursor`` is always the position to
    continue from (poll it later when ``meta.has_more`` is false)."""
    after = cursor[0] if cursor else 0
    cutoff = utcnow() - retention()
    if cursor:
        _check_not_expired(after, cutoff)
    # Read before the page: whatever commits after it has a higher sequence, so moving the
    # cursor up to it skips nothing.
    head = db.session.execute(sa.select(sa.func.max(Event.sequence))).scalar() or 0
    query = sa.select(Event).where(Event.sequence > after, Event.recorded_at >= cutoff)
    before = now = None
    joined = []
    if section:
        joined.append(("section", section))
    if tag:
        joined.append(("tag", tag))
    for kind, slug in joined:
        topic = sa.orm.aliased(EventTopic)
        query = query.join(
            topic,
            sa.and_(topic.sequence == Event.sequence, topic.kind == kind, topic.slug == slug),
        )
        before = topic.in_before if before is None else sa.and_(before, topic.in_before)
        now = topic.in_now if now is None else sa.and_(now, topic.in_now)
    if joined:
        effective = sa.case(
            (
                sa.and_(now, Event.type != UNPUBLISHED),
                sa.case(
                    (sa.and_(sa.not_(before), Event.type == UPDATED), PUBLISHED),
                    else_=Event.type,
                ),
            ),
            (before, UNPUBLISHED),
            else_=None,
        )
        query = query.add_columns(before.label("in_before"), now.label("in_now"))
        query = query.where(effective.is_not(None))
        if types:
            query = query.where(effective.in_(types))
    elif types:
        query = query.where(Event.type.in_(types))
    rows = db.session.execute(query.order_by(Event.sequence).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for row in rows:
        event = public_event(row[0])
        if joined:
            event = as_seen_through(event, bool(row.in_before), bool(row.in_now))
        items.append(event)
    if has_more:
        position = rows[-1][0].sequence
    else:
        position = max(head, rows[-1][0].sequence if rows else after, after)
    return Page(
        items=items,
        limit=limit,
        next_cursor=encode_cursor([position]),
        extra={"has_more": has_more},
    )


def purge() -> int:
    """Delete events older than the retention (the newest always stays, so sequences never
    restart) and finished deliveries as old. Returns how many events went."""
    cutoff = utcnow() - retention()
    newest = db.session.execute(sa.select(sa.func.max(Event.sequence))).scalar() or 0
    old = sa.select(Event.sequence).where(Event.recorded_at < cutoff, Event.sequence < newest)
    db.session.execute(sa.delete(EventTopic).where(EventTopic.sequence.in_(old)))
    deleted = db.session.execute(
        sa.delete(Event).where(Event.recorded_at < cutoff, Event.sequence < newest)
    ).rowcount
    db.session.execute(
        sa.delete(WebhookDelivery).where(
            WebhookDelivery.state != "pending", WebhookDelivery.completed_at < cutoff
        )
    )
    return deleted
