"""Request hooks every response goes through: request id, body checks, security headers."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, g, request

from cms.errors import problem

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


def install_request_hooks(app: Flask) -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RequestIdFilter())

    @app.before_request
    def _start():
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
        g.client_ip = request.remote_addr
        if request.method in _BODY_METHODS and _has_body() and not request.is_json:
            return problem(415, "Send the request body as application/json.")
        return None

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if response.status_code >= 400:
            # Errors are never cached (also those raised before a blueprint was matched).
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.path.startswith("/api/docs"):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
            )
        else:
            response.headers.setdefault(
                "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
            )
        return response


def _has_body() -> bool:
    if request.content_length:
        return True
    return request.headers.get("Transfer-Encoding", "").lower() == "chunked"
