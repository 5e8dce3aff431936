"""Request hooks every response goes through: request id, body checks, security headers."""

from __future__ import annotations

import contextlib
import logging
import re
import secrets

from flask import Flask, g, request

from cms.availability import unavailable_service
from cms.problems import problem

_log = logging.getLogger("cms.web")
# WSGI environ key: the database error the response cache middleware met before Flask ran.
DATABASE_UNAVAILABLE = "cms.database_unavailable"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Sent with every response unless its view set its own.
_SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
)
_HSTS = (("Strict-Transport-Security", "max-age=31536000"),)
_NO_STORE = (("Cache-Control", "no-store"),)
_API_CSP = ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
_DOCS_CSP = (
    "Content-Security-Policy",
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


def request_id(sent: str) -> str:
    """The id of a request: the client's ``X-Request-ID`` when well-formed, else a new one."""
    return sent if _REQUEST_ID.match(sent) else secrets.token_hex(16)


def install_request_hooks(app: Flask) -> None:
    for handler in logging.getLogger().handlers:
        handler.addFilter(_RequestIdFilter())

    @app.before_request
    def _start():
        g.request_id = request_id(request.headers.get("X-Request-ID", ""))
        g.client_ip = request.remote_addr
        if DATABASE_UNAVAILABLE in request.environ:
            # The response cache could not read the content generation: the database is out.
            # Raised here, it is answered like any outage (a 503 with Retry-After).
            raise request.environ.pop(DATABASE_UNAVAILABLE)
        if "\x00" in request.path or b"%00" in request.query_string:
            # never meaningful, and PostgreSQL text cannot hold it
            errors = {
                name: ["Must not contain a NUL character."]
                for name, values in request.args.lists()
                if "\x00" in name or any("\x00" in v for v in values)
            }
            return problem(400, "The URL contains a NUL character.", errors=errors or None)
        if request.method in _BODY_METHODS and _has_body() and not request.is_json:
            return problem(415, "Send the request body as application/json.")
        if request.method in _BODY_METHODS and request.content_length is None and _has_body():
            # A chunked body is cut off at MAX_CONTENT_LENGTH while read; one byte more
            # raises RequestEntityTooLarge, so the answer is 413, never a truncated body.
            request.get_data(cache=True)
            request.stream.read(1)
        return None

    @app.teardown_appcontext
    def _release_session(_exc):
        # Runs before Flask-SQLAlchemy's own teardown. When the database went away during
        # the request (a restart), the ROLLBACK on releasing the connection fails; raised
        # from teardown, that would replace an answer already made with the server's bare
        # 500. Drop the dead connection instead; the pool reconnects on the next request.
        # Nothing raised here can reach the client as a problem document, so nothing is.
        from cms.extensions import db

        try:
            db.session.remove()
        except Exception as error:
            log = _log.warning if unavailable_service(error) else _log.error
            log(
                "releasing the database session failed (%s.%s: %s)",
                type(error).__module__,
                type(error).__qualname__,
                error,
            )
            with contextlib.suppress(Exception):
                db.session.registry().invalidate()
            db.session.registry.clear()

    @app.after_request
    def _finish(response):
        finish(response, g.get("request_id", ""), secure=request.is_secure, path=request.path)
        return response


def finish(response, request_id: str, *, secure: bool, path: str) -> None:
    """The headers every response carries (the ``_finish`` hook's): its request id, then the
    security headers it lacks."""
    response.headers["X-Request-ID"] = request_id
    set_missing(response.headers, _security_headers(response.status_code, secure, path))


def finished(headers: list, status_code: int, request_id: str, *, secure: bool, path: str):
    """``finish`` on a plain list of headers without a request id (``cms.api.public.fast``):
    the same headers appended in the same order."""
    present = {key.lower() for key, _ in headers}
    headers.append(("X-Request-ID", request_id))
    headers += [
        (key, value)
        for key, value in _security_headers(status_code, secure, path)
        if key.lower() not in present
    ]


def _security_headers(status_code: int, secure: bool, path: str) -> list[tuple[str, str]]:
    return [
        # Errors are never cached (also those raised before a blueprint was matched).
        *(_NO_STORE if status_code >= 400 else ()),
        *_SECURITY_HEADERS,
        *(_HSTS if secure else ()),
        _DOCS_CSP if path.startswith("/api/docs") else _API_CSP,
    ]


def set_missing(headers, defaults) -> None:
    """Add each header of ``defaults`` that ``headers`` does not carry yet, as ``setdefault``
    would: in one pass over the response's headers, where ``setdefault`` scans them two or
    three times per header (werkzeug compares names case-insensitively, one by one)."""
    present = set(headers.keys(lower=True))
    headers.extend([(key, value) for key, value in defaults if key.lower() not in present])


def _has_body() -> bool:
    if request.content_length:
        return True
    return request.headers.get("Transfer-Encoding", "").lower() == "chunked"
