"""The audit log: services call :func:`log` for every write; admins read it back.

The row joins the caller's unit of work, so it is committed (or rolled back) with the change it
describes. The request id and client address come from ``flask.g`` when there is a request
(set by ``cms.web``); from the CLI they are empty.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import g, has_app_context

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.extensions import db
from cms.models import AuditEvent, User
from cms.pagination import Page, keyset_page


def log(
    action: str,
    resource_type: str,
    resource_id: object,
    actor: User | None,
    detail: dict | None = None,
) -> AuditEvent:
    """Record that ``actor`` did ``action`` (e.g. ``article.publish``) to a resource."""
    request_id = ip = None
    if has_app_context():
        request_id = g.get("request_id")
        ip = g.get("client_ip")
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else None,
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        detail=detail or {},
        request_id=request_id,
        ip=ip,
    )
    db.session.add(event)
    return event


def list_events(
    filters: dict,
    *,
    actor: User,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
) -> Page:
    """Events newest first, filtered by actor (id or email), action, resource, time range."""
    authorize(actor, "audit:read")
    query = sa.select(AuditEvent)
    who = filters.get("actor")
    if who is not None:
        if who.isdigit():
            query = query.where(AuditEvent.actor_id == int(who))
        else:
            query = query.where(AuditEvent.actor_email == who.strip().lower())
    if "action" in filters:
        query = query.where(AuditEvent.action == filters["action"])
    if "resource_type" in filters:
        query = query.where(AuditEvent.resource_type == filters["resource_type"])
    if "resource_id" in filters:
        query = query.where(AuditEvent.resource_id == str(filters["resource_id"]))
    since: datetime | None = filters.get("since")
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    until: datetime | None = filters.get("until")
    if until is not None:
        query = query.where(AuditEvent.at < until)
    return keyset_page(
        query, AuditEvent.id, descending=True, limit=limit, cursor=cursor, count=count
    )
