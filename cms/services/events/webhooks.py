"""Webhook endpoints, managed by admins: create (the secret is shown once), change, rotate the
secret (the old one keeps signing beside the new one for 24 hours), delete, test, and the
delivery log with redelivery."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import User, WebhookDelivery, WebhookEndpoint
from cms.pagination import Page, keyset_page
from cms.services.accounts import audit
from cms.services.events import delivery
from cms.services.events.targets import UnsafeTarget, resolve

ROTATION_OVERLAP = timedelta(hours=24)


def _check_url(url: str) -> None:
    try:
        resolve(url, allow_private=current_app.config["CMS_WEBHOOK_ALLOW_PRIVATE"])
    except UnsafeTarget as exc:
        raise ValidationFailed(
            f"This URL cannot receive webhooks: {exc}", errors={"url": [str(exc)]}
        ) from exc


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"There is no webhook {endpoint_id}.")
    return endpoint


def list_endpoints(
    actor: User, *, limit: int, cursor: list | None = None, count: bool = False
) -> Page:
    authorize(actor, "webhook:manage")
    return keyset_page(
        sa.select(WebhookEndpoint),
        WebhookEndpoint.id,
        descending=False,
        limit=limit,
        cursor=cursor,
        count=count,
    )


def _apply(endpoint: WebhookEndpoint, data: dict) -> None:
    if "url" in data:
        _check_url(data["url"])
        endpoint.url = data["url"]
    if "events" in data:
        endpoint.events = list(dict.fromkeys(data["events"]))
    if "description" in data:
        endpoint.description = data["description"] or ""
    if "filters" in data:
        filters = data["filters"] or {}
        endpoint.filter_section = filters.get("section")
        endpoint.filter_tag = filters.get("tag")
    if "coalesce_seconds" in data:
        endpoint.coalesce_seconds = data["coalesce_seconds"]
    if "enabled" in data and data["enabled"] != endpoint.enabled:
        endpoint.enabled = data["enabled"]
        if endpoint.enabled:
            endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
        else:
            endpoint.disabled_reason, endpoint.disabled_at = "Disabled by an admin.", utcnow()
            delivery.cancel_pending(endpoint.id, "disabled")


def create_endpoint(data: dict, *, actor: User) -> WebhookEndpoint:
    authorize(actor, "webhook:manage")
    now = utcnow()
    endpoint = WebhookEndpoint(
        secret=delivery.new_secret(),
        enabled=True,
        created_at=now,
        updated_at=now,
        created_by_id=actor.id,
        description="",
        coalesce_seconds=0,
    )
    _apply(endpoint, data)
    db.session.add(endpoint)
    db.session.flush()
    audit.log("webhook.create", "webhook", endpoint.id, actor, {"url": endpoint.url})
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, data: dict, *, actor: User) -> WebhookEndpoint:
    authorize(actor, "webhook:manage")
    _apply(endpoint, data)
    endpoint.updated_at = utcnow()
    audit.log("webhook.update", "webhook", endpoint.id, actor, {"changed": sorted(data)})
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint, *, actor: User) -> None:
    authorize(actor, "webhook:manage")
    audit.log("webhook.delete", "webhook", endpoint.id, actor, {"url": endpoint.url})
    db.session.delete(endpoint)


def rotate_secret(endpoint: WebhookEndpoint, *, actor: User) -> WebhookEndpoint:
    """A new secret; the old one signs beside it for 24 hours, so receivers can switch."""
    authorize(actor, "webhook:manage")
    now = utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + ROTATION_OVERLAP
    endpoint.secret = delivery.new_secret()
    endpoint.updated_at = now
    audit.log("webhook.rotate_secret", "webhook", endpoint.id, actor)
    return endpoint


def send_test(endpoint: WebhookEndpoint, *, actor: User) -> WebhookDelivery:
    authorize(actor, "webhook:manage")
    if not endpoint.enabled:
        raise ValidationFailed(
            "This webhook is disabled; enable it first.", errors={"enabled": ["Disabled."]}
        )
    return delivery.queue_test(endpoint)


def get_delivery(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    found = db.session.get(WebhookDelivery, delivery_id)
    if found is None or found.endpoint_id != endpoint.id:
        raise NotFound(f"Webhook {endpoint.id} has no delivery {delivery_id}.")
    return found


def list_deliveries(
    endpoint: WebhookEndpoint,
    *,
    actor: User,
    limit: int,
    cursor: list | None = None,
    state: str | None = None,
) -> Page:
    """Newest first, each with every attempt."""
    authorize(actor, "webhook:manage")
    query = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return keyset_page(query, WebhookDelivery.id, descending=True, limit=limit, cursor=cursor)


def redeliver(endpoint: WebhookEndpoint, found: WebhookDelivery, *, actor: User) -> WebhookDelivery:
    authorize(actor, "webhook:manage")
    if not endpoint.enabled:
        raise ValidationFailed(
            "This webhook is disabled; enable it first.", errors={"enabled": ["Disabled."]}
        )
    again = delivery.redeliver(found)
    audit.log(
        "webhook.redeliver", "webhook", endpoint.id, actor, {"delivery": found.id, "new": again.id}
    )
    return again
