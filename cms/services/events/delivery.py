"""Webhook delivery: an outbox of rows, claimed by workers with a lease, sent signed to the
Standard Webhooks specification, retried with backoff and jitter.

- :func:`fan_out` queues a delivery per event and subscribed endpoint, in the transaction that
  writes the event (nothing is lost between the change and its delivery).
- :func:`claim` leases due deliveries to a worker (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; two
  workers never take the same row). A delivery waits while an earlier one for the same article
  and endpoint is unfinished, so each endpoint gets an article's events in sequence order.
- :func:`attempt` sends one delivery and records the attempt. A worker that dies mid-delivery
  leaves its lease to expire; the delivery is then claimed again and sent with the same
  ``webhook-id``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import random
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from cms.clock import utcnow
from cms.extensions import db
from cms.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from cms.services.accounts import audit
from cms.services.events.log import PUBLISHED, UPDATED, as_seen_through
from cms.services.events.targets import UnsafeTarget, resolve
from cms.services.generation import Bumped
from cms.text import rfc3339

log = logging.getLogger("cms.webhooks")

TEST_EVENT = "webhook.test"
USER_AGENT = "newsroom-cms-webhooks/1"
_RESPONSE_EXCERPT = 500


# --- settings --------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(text: str) -> list[float]:
    """``"5s,5m,30m,2h"`` -> seconds between attempts (the first entry: before the 1st retry)."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        unit = part[-1] if part[-1] in _UNITS else "s"
        number = part[:-1] if part[-1] in _UNITS else part
        out.append(float(number) * _UNITS[unit])
    if not out or any(value < 0 for value in out):
        raise ValueError(f"not a retry schedule: {text!r}")
    return out


def _config(name: str):
    return current_app.config[name]


# --- signing ---------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` with a ``whsec_`` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(endpoint: WebhookEndpoint, message_id: str, timestamp: int, body: bytes):
    """Signed by the current secret, and by the previous one while it is still honoured."""
    values = [sign(endpoint.secret, message_id, timestamp, body)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until and until > utcnow():
        values.append(sign(endpoint.previous_secret, message_id, timestamp, body))
    return " ".join(values)


# --- queueing --------------------------------------------------------------------------------


def _body(event: dict) -> str:
    return orjson.dumps(
        {"type": event["type"], "timestamp": _iso_full(event["occurred_at"]), "data": _data(event)}
    ).decode()


def _iso_full(value) -> str:
    return rfc3339(value) if isinstance(value, datetime) else value


def _data(event: dict) -> dict:
    return {
        "id": event["id"],
        "sequence": event["sequence"],
        "type": event["type"],
        "occurred_at": _iso_full(event["occurred_at"]),
        "article": event["article"],
        "reason": event["reason"],
        "cache_tags": event["cache_tags"],
    }


def _matches(event: dict, endpoint: Subscriber) -> dict | None:
    """The event as this endpoint's filters see it, or ``None``."""
    if not endpoint.filter_section and not endpoint.filter_tag:
        return event
    wanted = []
    if endpoint.filter_section:
        wanted.append(("section", endpoint.filter_section))
    if endpoint.filter_tag:
        wanted.append(("tag", endpoint.filter_tag))
    topics = {(kind, slug): (before, now) for kind, slug, before, now in event["topics"]}
    found = [topics.get(key, (False, False)) for key in wanted]
    return as_seen_through(event, all(b for b, _ in found), all(n for _, n in found))


@dataclass(frozen=True)
class Subscriber:
    """What fan-out needs of an enabled endpoint."""

    id: int
    events: tuple[str, ...]
    filter_section: str | None
    filter_tag: str | None
    coalesce_seconds: int


# Per database: (the webhooks' version, its enabled endpoints). Every commit that changes an
# endpoint moves the version on the content generation row (``generation.Bumped``), and the
# event-writing commit reads that row under its lock: a cached list of the same version is
# exactly what the database holds, in every process.
_subscribers: dict[object, tuple[int, tuple[Subscriber, ...]]] = {}
_SUBSCRIBERS = sa.select(
    WebhookEndpoint.id,
    WebhookEndpoint.events,
    WebhookEndpoint.filter_section,
    WebhookEndpoint.filter_tag,
    WebhookEndpoint.coalesce_seconds,
).where(WebhookEndpoint.enabled.is_(True))


def subscribers(session: Session, bumped: Bumped) -> tuple[Subscriber, ...]:
    """The enabled endpoints as of ``bumped`` (read under the generation's lock), from process
    memory while the webhooks' version is the one last read."""
    key = session.get_bind().url
    cached = _subscribers.get(key)
    if cached is not None and cached[0] == bumped.webhooks_version and not bumped.webhooks_changed:
        return cached[1]
    found = tuple(
        Subscriber(
            row.id, tuple(row.events), row.filter_section, row.filter_tag, row.coalesce_seconds or 0
        )
        for row in session.execute(_SUBSCRIBERS)
    )
    # Not when this transaction changed an endpoint itself: it may still roll back.
    if not bumped.webhooks_changed:
        _subscribers[key] = (bumped.webhooks_version, found)
    return found


def fan_out(session: Session, events: list[dict], bumped: Bumped) -> int:
    """Queue the deliveries of freshly written events (same transaction)."""
    endpoints = subscribers(session, bumped)
    if not endpoints:
        return 0
    now = utcnow()
    queued = 0
    for event in events:
        for endpoint in endpoints:
            seen = _matches(event, endpoint)
            if seen is None or seen["type"] not in endpoint.events:
                continue
            _queue(session, endpoint, seen, now)
            queued += 1
    return queued


def _queue(session: Session, endpoint: Subscriber, event: dict, now: datetime) -> None:
    due = now
    kind = event["type"]
    if endpoint.coalesce_seconds:
        due = now + timedelta(seconds=endpoint.coalesce_seconds)
        # Merge into the burst: the earlier delivery, never tried nor claimed, gives way.
        earlier = session.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.article_id == event["article_id"],
                WebhookDelivery.state == "pending",
                WebhookDelivery.attempt_count == 0,
                WebhookDelivery.lease_token.is_(None),
            )
            .values(state="coalesced", completed_at=now)
            .returning(WebhookDelivery.id, WebhookDelivery.type, WebhookDelivery.next_attempt_at)
        ).all()
        if earlier:
            due = min(row.next_attempt_at for row in earlier)
            if PUBLISHED in {row.type for row in earlier} and kind == UPDATED:
                kind = PUBLISHED  # the receiver has not heard of the article yet
    event = {**event, "type": kind}
    result = session.execute(
        sa.insert(WebhookDelivery)
        .values(
            endpoint_id=endpoint.id,
            message_id=event["id"],
            type=kind,
            sequence=event["sequence"],
            article_id=event["article_id"],
            payload=_body(event),
            state="pending",
            attempt_count=0,
            next_attempt_at=due,
            created_at=now,
        )
        .returning(WebhookDelivery.id)
    )
    new_id = result.scalar_one()
    if endpoint.coalesce_seconds:
        session.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.article_id == event["article_id"],
                WebhookDelivery.state == "coalesced",
                WebhookDelivery.coalesced_into_id.is_(None),
            )
            .values(coalesced_into_id=new_id)
        )


def queue_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.test`` message to this endpoint, delivered by the worker like any other."""
    now = utcnow()
    message_id = "evt_" + uuid.uuid4().hex
    body = {
        "type": TEST_EVENT,
        "timestamp": _iso_full(now),
        "data": {"id": message_id, "type": TEST_EVENT, "endpoint_id": endpoint.id},
    }
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        message_id=message_id,
        type=TEST_EVENT,
        payload=orjson.dumps(body).decode(),
        state="pending",
        attempt_count=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(delivery)
    db.session.flush()
    return delivery


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's message again, as a new delivery with the same ``webhook-id``."""
    now = utcnow()
    again = WebhookDelivery(
        endpoint_id=delivery.endpoint_id,
        message_id=delivery.message_id,
        type=delivery.type,
        sequence=delivery.sequence,
        article_id=delivery.article_id,
        payload=delivery.payload,
        state="pending",
        attempt_count=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(again)
    db.session.flush()
    return again


def cancel_pending(endpoint_id: int, reason: str) -> None:
    db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state == "pending")
        .values(state="cancelled", completed_at=utcnow())
    )


# --- claiming --------------------------------------------------------------------------------


def claim(limit: int) -> list[tuple[int, str]]:
    """Lease up to ``limit`` due deliveries; ``[(delivery id, lease token)]``. Commits."""
    if limit <= 0:
        return []
    now = utcnow()
    token = uuid.uuid4().hex
    earlier = sa.orm.aliased(WebhookDelivery)
    waiting_behind = (
        sa.select(earlier.id)
        .where(
            earlier.endpoint_id == WebhookDelivery.endpoint_id,
            earlier.article_id == WebhookDelivery.article_id,
            earlier.sequence < WebhookDelivery.sequence,
            earlier.state == "pending",
        )
        .exists()
    )
    due = (
        sa.select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= now,
            sa.or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            WebhookEndpoint.enabled.is_(True),
            ~waiting_behind,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if db.session.execute(due.limit(1)).first() is None:
        db.session.rollback()
        return []  # nothing due: no write (SQLite would take its write lock for nothing)
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(of=WebhookDelivery, skip_locked=True)
    lease = timedelta(seconds=_config("CMS_WEBHOOK_LEASE_SECONDS"))
    try:
        ids = db.session.scalars(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(lease_token=token, lease_until=now + lease)
            .returning(WebhookDelivery.id)
        ).all()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return [(ident, token) for ident in sorted(ids)]


# --- sending ---------------------------------------------------------------------------------


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate of the URL's host name."""

    def __init__(self, address: str, port: int, server_name: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


def send(url: str, headers: dict, body: bytes, *, timeout: float, allow_private: bool):
    """POST once, following no redirect. ``(status code or None, error or None)``."""
    try:
        target = resolve(url, allow_private=allow_private)
    except UnsafeTarget as exc:
        return None, f"refused: {exc}"
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target.address, target.port, target.host, timeout)
    else:
        connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    if target.port != default_port:
        host = f"{host}:{target.port}"
    deadline = time.monotonic() + timeout
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Host": host,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        response.read(64 * 1024)  # a well-behaved answer is small; the rest is not waited for
        if time.monotonic() > deadline:
            return None, f"timed out after {timeout:g} s"
        status = response.status
        if 300 <= status < 400:
            where = response.getheader("Location", "")
            return status, f"redirect to {where[:200]!r} not followed"
        if not 200 <= status < 300:
            return status, f"answered {status} {response.reason}"[:_RESPONSE_EXCERPT]
        return status, None
    except TimeoutError:
        return None, f"timed out after {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:_RESPONSE_EXCERPT]
    finally:
        connection.close()


def _take_lease(delivery_id: int, token: str) -> WebhookDelivery | None:
    """Renew our lease and load the delivery, or ``None`` when it is no longer ours."""
    now = utcnow()
    lease = timedelta(seconds=_config("CMS_WEBHOOK_LEASE_SECONDS"))
    renewed = db.session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.lease_token == token,
            WebhookDelivery.state == "pending",
            WebhookDelivery.lease_until > now,
        )
        .values(lease_until=now + lease)
    ).rowcount
    if not renewed:
        db.session.rollback()
        return None
    return db.session.get(WebhookDelivery, delivery_id, populate_existing=True)


def attempt(delivery_id: int, token: str, *, worker: str = "") -> str | None:
    """Send one leased delivery and record the attempt; the delivery's new state, or ``None``
    when the lease was no longer ours (another worker has it)."""
    delivery = _take_lease(delivery_id, token)
    if delivery is None:
        return None
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        delivery.state, delivery.completed_at = "cancelled", utcnow()
        delivery.lease_token = delivery.lease_until = None
        db.session.commit()
        return delivery.state
    body = delivery.payload.encode()
    timestamp = int(utcnow().timestamp())
    headers = {
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(endpoint, delivery.message_id, timestamp, body),
    }
    url = endpoint.url
    db.session.commit()  # the lease is renewed; hold no transaction while waiting on the network

    started = utcnow()
    clock_start = time.monotonic()
    status, error = send(
        url,
        headers,
        body,
        timeout=_config("CMS_WEBHOOK_TIMEOUT_SECONDS"),
        allow_private=_config("CMS_WEBHOOK_ALLOW_PRIVATE"),
    )
    duration_ms = int((time.monotonic() - clock_start) * 1000)
    return record_result(delivery_id, token, started, duration_ms, status, error, worker=worker)


def record_result(
    delivery_id: int,
    token: str,
    started: datetime,
    duration_ms: int,
    status: int | None,
    error: str | None,
    *,
    worker: str = "",
) -> str | None:
    now = utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id) if delivery else None
    if delivery is None or endpoint is None:
        db.session.rollback()
        return None
    ours = delivery.lease_token == token and delivery.state == "pending"
    number = delivery.attempt_count + 1 if ours else len(delivery.attempts) + 1
    attempt_row = WebhookAttempt(
        delivery_id=delivery.id,
        number=number,
        attempted_at=started,
        duration_ms=duration_ms,
        status_code=status,
        error=error,
        worker=worker[:100] or None,
    )
    db.session.add(attempt_row)
    if not ours:
        db.session.commit()
        return None
    delivery.attempt_count = number
    delivery.lease_token = delivery.lease_until = None
    ok = status is not None and 200 <= status < 300
    if ok:
        delivery.state, delivery.completed_at = "delivered", now
        endpoint.failing_since = None
    elif status == 410:
        delivery.state, delivery.completed_at = "failed", now
        _disable(endpoint, "The endpoint answered 410 Gone.", now)
    else:
        schedule = parse_schedule(_config("CMS_WEBHOOK_RETRY_SCHEDULE"))
        endpoint.failing_since = endpoint.failing_since or started
        if number > len(schedule):
            delivery.state, delivery.completed_at = "failed", now
        else:
            delay = schedule[number - 1] * random.uniform(0.8, 1.2)  # jitter: no thundering herd
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            attempt_row.next_retry_at = delivery.next_attempt_at
        limit = timedelta(days=_config("CMS_WEBHOOK_DISABLE_AFTER_DAYS"))
        if now - endpoint.failing_since >= limit:
            _disable(
                endpoint,
                f"No delivery succeeded for {limit.days} days (failing since "
                f"{endpoint.failing_since:%Y-%m-%dT%H:%M:%SZ}).",
                now,
            )
            if delivery.state == "pending":
                delivery.state, delivery.completed_at = "cancelled", now
                attempt_row.next_retry_at = None
    db.session.commit()
    if not ok:
        log.info(
            "webhook delivery %s to endpoint %s failed (attempt %s): %s",
            delivery.id,
            endpoint.id,
            number,
            error,
        )
    return delivery.state


def _disable(endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_at = now
    cancel_pending(endpoint.id, reason)
    audit.log("webhook.disable", "webhook", endpoint.id, None, {"reason": reason})
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
