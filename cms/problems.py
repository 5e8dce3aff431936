"""The single place that turns any error into RFC 9457 problem details.

Services raise :class:`cms.errors.CmsError` subclasses; views let them propagate;
``register_error_handlers`` answers every error as ``application/problem+json``.
"""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus

import limits.errors
import marshmallow as ma
import psycopg
import redis.exceptions
import sqlalchemy as sa
from flask import Flask, current_app, g, json
from werkzeug.exceptions import HTTPException, InternalServerError

from cms.availability import DATABASE, REDIS, RETRY_AFTER_SECONDS, unavailable_service
from cms.errors import CmsError
from cms.extensions import db

# The logger keeps its name: operators filter on it (README, "Outages").
log = logging.getLogger("cms.errors")

PROBLEM_MIMETYPE = "application/problem+json"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only).

    Problems may carry extension members (RFC 9457 §3.2); the known ones are listed.
    """

    class Meta:
        unknown = ma.INCLUDE  # documented as ``additionalProperties: true``

    type = ma.fields.String(metadata={"description": "Problem type URI", "example": "about:blank"})
    title = ma.fields.String(metadata={"description": "Short summary of the problem type"})
    status = ma.fields.Integer(metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong in this request"})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "Validation messages keyed by field path, e.g. `body.2.text`"},
    )
    request_id = ma.fields.String()
    current_version = ma.fields.Integer(metadata={"description": "412: the article's version"})
    changed_since = ma.fields.List(
        ma.fields.Dict(),
        metadata={"description": "412: who changed which field since the version you sent"},
    )
    current_status = ma.fields.String(metadata={"description": "409: the article's status"})
    reason = ma.fields.String(
        metadata={"description": "410: why the article was taken down (legal, expired, other)"}
    )
    allowed_actions = ma.fields.List(
        ma.fields.String(), metadata={"description": "409: the actions allowed from it"}
    )


def flatten_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"body.2.text": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for k, v in flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out[prefix or "_schema"] = list(messages)
        else:
            for m in messages:
                for k, v in flatten_errors(m, prefix).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "_schema"] = [str(messages)]
    return out


def problem(
    status: int,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    errors: dict | None = None,
    headers: dict | None = None,
    **extra,
):
    """Build a problem+json response."""
    body = {
        "type": type_,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


_DEFAULT_DETAIL = {
    400: "The request is malformed.",
    401: "Authentication is required: send a valid access token.",
    404: "No such resource.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    415: "Send the request body as application/json.",
    429: "Too many requests; retry later.",
}


def problem_response_from_http(error: HTTPException):
    """Answer a werkzeug/webargs HTTP exception as problem details."""
    status = error.code or 500
    if status >= 500:
        return _server_error(error)
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    errors = None
    detail = data.get("message") or _DEFAULT_DETAIL.get(status) or error.description
    if "messages" in data:
        messages = data["messages"]
        # webargs nests messages by location: {"json": {...}} / {"query": {...}}
        if isinstance(messages, dict) and len(messages) == 1:
            location, messages = next(iter(messages.items()))
        else:
            location = "request"
        errors = flatten_errors(messages)
        where = "query string" if location == "query" else "request body"
        detail = f"The {where} is invalid: " + "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in sorted(errors.items())
        )
    if status == 429:
        retry = getattr(error, "retry_after", None)
        headers.setdefault("Retry-After", str(retry or 60))
        limit = getattr(error, "limit", None)
        if limit is not None:
            detail = f"Rate limit exceeded ({limit.limit}); retry later."
    response = problem(status, detail, errors=errors, headers=headers)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _rollback() -> None:
    """Leave no failed transaction behind for the rest of the request."""
    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone
        log.warning("rollback after an error failed", exc_info=True)


_UNAVAILABLE_DETAIL = {
    DATABASE: "The database is unavailable; retry shortly.",
    REDIS: "A shared store (Redis) is unavailable; retry shortly.",
}


def _server_error(error: Exception):
    """A 500, unless the error (also one raised in a request hook) is an outage: a 503."""
    original = getattr(error, "original_exception", None) or error
    service = unavailable_service(original)
    if service is not None:
        return _unavailable(original, service)
    _rollback()
    request_id = g.get("request_id", "-")
    log.error(
        "request %s failed with %s",
        request_id,
        _class_name(original),
        exc_info=original if isinstance(original, BaseException) else None,
    )
    return problem(500, "An unexpected error occurred. Quote the request id when reporting it.")


def _unavailable(error: BaseException, service: str):
    """503 with ``Retry-After``: a backing service is out for a moment (a restart, a failover)."""
    _rollback()
    log.warning(
        "request %s: the %s is unavailable (%s: %s)",
        g.get("request_id", "-"),
        service,
        _class_name(error),
        str(error).strip().splitlines()[0] if str(error).strip() else "",
    )
    return problem(
        503, _UNAVAILABLE_DETAIL[service], headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def _class_name(error) -> str:
    cls = type(error)
    return f"{cls.__module__}.{cls.__qualname__}"


# Where an outage surfaces as an exception: SQLAlchemy (wrapping the drivers), the drivers
# themselves, Redis and the rate limiter's storage.
OUTAGE_CANDIDATES = (
    sa.exc.SQLAlchemyError,
    sqlite3.Error,
    psycopg.Error,
    redis.exceptions.RedisError,
    limits.errors.StorageError,
)


_PROBLEM_MEMBERS = {"type", "type_", "title", "status", "detail", "errors", "headers"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CmsError)
    def handle_cms_error(error: CmsError):
        # RFC 9110: a 401 names the scheme to authenticate with, wherever it was raised.
        headers = {"WWW-Authenticate": 'Bearer realm="editor"'} if error.status == 401 else None
        return problem(
            error.status,
            error.detail,
            type_=error.type,
            errors=error.errors,
            headers=headers,
            # extra members never replace the standard ones (a 500 instead of the answer)
            **{k: v for k, v in error.extra.items() if k not in _PROBLEM_MEMBERS},
        )

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        return problem_response_from_http(error)

    @app.errorhandler(InternalServerError)
    def handle_500(error):
        return _server_error(error)

    def handle_outage(error: Exception):
        service = unavailable_service(error)
        if service is None:
            raise error  # not an outage: Flask answers it as any unhandled error (a 500)
        return _unavailable(error, service)

    for cls in OUTAGE_CANDIDATES:
        app.register_error_handler(cls, handle_outage)

    from sqlalchemy.orm.exc import StaleDataError

    @app.errorhandler(StaleDataError)
    def handle_concurrent_write(error):
        # A write that lost a race outside the paths that answer 412 themselves.
        _rollback()
        return problem(
            409, "Someone else changed this resource at the same moment; reload and retry."
        )
