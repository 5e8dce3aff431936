"""``/api/v1/editor/webhooks``: webhook endpoints, their deliveries and tests (admins only)."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint
from cms.api.editor.common import no_store, role_required
from cms.api.responses import json_response, page_response
from cms.extensions import db
from cms.schemas.events import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
    WebhookQuery,
    WebhookWithSecret,
)
from cms.services.events import webhooks

blp = Blueprint(
    "editor_webhooks",
    __name__,
    url_prefix="/api/v1/editor/webhooks",
    description="Webhook endpoints: signed, retried deliveries of article events (admins).",
)
blp.after_request(no_store)

_out = WebhookOut()
_with_secret = WebhookWithSecret()
_delivery = DeliveryOut()


@blp.route("")
class Webhooks(MethodView):
    @blp.doc(operationId="listWebhooks")
    @blp.query(WebhookQuery, as_kwargs=True)
    @blp.response(200, WebhookPage)
    @role_required("admin")
    def get(self, limit, count, cursor=None):
        """All webhook endpoints, by id."""
        page = webhooks.list_endpoints(current_user, limit=limit, cursor=cursor, count=count)
        return page_response(page, _out)

    @blp.doc(operationId="createWebhook")
    @blp.query()
    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookWithSecret)
    @role_required("admin")
    def post(self, _query, data):
        """Create an endpoint. The answer carries its signing `secret`, shown only this once."""
        endpoint = webhooks.create_endpoint(data, actor=current_user)
        db.session.commit()
        return json_response(_with_secret.dump(endpoint), status=201)


@blp.route("/<int:webhook_id>")
class WebhookItem(MethodView):
    @blp.doc(operationId="getWebhook")
    @blp.query()
    @blp.response(200, WebhookOut)
    @blp.alt_response(404, description="No such webhook.")
    @role_required("admin")
    def get(self, _query, webhook_id):
        """One endpoint (without its secret)."""
        return webhooks.get_endpoint(webhook_id)

    @blp.doc(operationId="updateWebhook")
    @blp.query()
    @blp.arguments(WebhookPatch)
    @blp.response(200, WebhookOut)
    @blp.alt_response(404, description="No such webhook.")
    @role_required("admin")
    def patch(self, _query, data, webhook_id):
        """Change the URL, events, description, filters, coalescing; enable or disable."""
        endpoint = webhooks.update_endpoint(
            webhooks.get_endpoint(webhook_id), data, actor=current_user
        )
        db.session.commit()
        return endpoint

    @blp.doc(operationId="deleteWebhook")
    @blp.query()
    @blp.response(204)
    @blp.alt_response(404, description="No such webhook.")
    @role_required("admin")
    def delete(self, _query, webhook_id):
        """Delete the endpoint and its delivery log."""
        webhooks.delete_endpoint(webhooks.get_endpoint(webhook_id), actor=current_user)
        db.session.commit()


@blp.route("/<int:webhook_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.doc(operationId="rotateWebhookSecret")
    @blp.query()
    @blp.response(200, WebhookWithSecret)
    @blp.alt_response(404, description="No such webhook.")
    @role_required("admin")
    def post(self, _query, webhook_id):
        """A new secret (shown once); the old one keeps signing beside it for 24 hours."""
        endpoint = webhooks.rotate_secret(webhooks.get_endpoint(webhook_id), actor=current_user)
        db.session.commit()
        return json_response(_with_secret.dump(endpoint))


@blp.route("/<int:webhook_id>/test")
class TestWebhook(MethodView):
    @blp.doc(operationId="testWebhook")
    @blp.query()
    @blp.response(202, DeliveryOut)
    @blp.alt_response(404, description="No such webhook.")
    @blp.alt_response(422, description="The webhook is disabled.")
    @role_required("admin")
    def post(self, _query, webhook_id):
        """Queue a signed `webhook.test` message; its result shows in the deliveries."""
        found = webhooks.send_test(webhooks.get_endpoint(webhook_id), actor=current_user)
        db.session.commit()
        return json_response(_delivery.dump(found), status=202)


@blp.route("/<int:webhook_id>/deliveries")
class Deliveries(MethodView):
    @blp.doc(operationId="listWebhookDeliveries")
    @blp.query(DeliveryQuery, as_kwargs=True)
    @blp.response(200, DeliveryPage)
    @blp.alt_response(404, description="No such webhook.")
    @role_required("admin")
    def get(self, webhook_id, limit, count, cursor=None, state=None):
        """Deliveries newest first, each with every attempt (time, status, duration, error,
        next retry)."""
        endpoint = webhooks.get_endpoint(webhook_id)
        page = webhooks.list_deliveries(
            endpoint, actor=current_user, limit=limit, cursor=cursor, state=state
        )
        return page_response(page, _delivery)


@blp.route("/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.doc(operationId="redeliverWebhookDelivery")
    @blp.query()
    @blp.response(202, DeliveryOut)
    @blp.alt_response(404, description="No such webhook or delivery.")
    @blp.alt_response(422, description="The webhook is disabled.")
    @role_required("admin")
    def post(self, _query, webhook_id, delivery_id):
        """Send the message again (same `webhook-id`), as a new delivery."""
        endpoint = webhooks.get_endpoint(webhook_id)
        found = webhooks.get_delivery(endpoint, delivery_id)
        again = webhooks.redeliver(endpoint, found, actor=current_user)
        db.session.commit()
        return json_response(_delivery.dump(again), status=202)
