"""Answers public GET and HEAD requests from the response cache before Flask sees them.

Only requests the response cache may answer are looked up: GET or HEAD under ``/api/v1/``
(neither the editor API nor previews), without ``Authorization``, ``If-Match`` or a body. On a
hit the stored response (``cms.cache.store.CachedResponse``: status, headers and body exactly as the
app sent them) is sent with a fresh ``X-Request-ID``, its ``Content-Length`` and, when a public
rate limit is set, the rate-limit headers, after counting the request against that limit; a
200 becomes a 304 when the request's validators match, as ``make_conditional`` decides. On a
miss the request goes to Flask carrying its key and the content generation read *before* the
content, and ``cms.cache.http`` stores what the public endpoints answered (200 and 301).
When the lookup cannot reach the database (a restart), Flask answers the 503 problem with
``Retry-After``; when it cannot reach Redis, Flask builds the answer from the database.
"""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.datastructures import Headers
from werkzeug.http import is_resource_modified, remove_entity_headers

from cms.availability import DATABASE, unavailable_service
from cms.cache.store import MISSED
from cms.rate_limits import public_limit_headers
from cms.web import DATABASE_UNAVAILABLE, request_id

_STATUS_LINES = {200: "200 OK", 301: "301 MOVED PERMANENTLY"}  # as werkzeug writes them
_NOT_MODIFIED = "304 NOT MODIFIED"
_NOT_CACHED = ("/api/v1/editor", "/api/v1/preview")

_log = logging.getLogger("cms.cache.store")


def cache_key(environ) -> str | None:
    """The cache key of a request the response cache may answer, else ``None``.

    Everything a public response depends on besides content: the scheme (HSTS), the
    ``Origin`` (CORS headers), the path and the query string."""
    path = environ.get("PATH_INFO", "")
    if (
        environ["REQUEST_METHOD"] not in ("GET", "HEAD")
        or not path.startswith("/api/v1/")
        or path.startswith(_NOT_CACHED)
        or "HTTP_AUTHORIZATION" in environ
        or "HTTP_IF_MATCH" in environ
        or environ.get("CONTENT_LENGTH", "0") not in ("", "0")
        or "HTTP_TRANSFER_ENCODING" in environ
    ):
        return None
    return (
        f"{environ['wsgi.url_scheme']} {environ.get('HTTP_ORIGIN', '')} "
        f"{environ.get('SCRIPT_NAME', '')}{path}?{environ.get('QUERY_STRING', '')}"
    )


class CachedResponses:
    """WSGI middleware around ``app.wsgi_app`` (installed by ``create_app``)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        cache = self.app.extensions.get("cms_response_cache")
        key = cache_key(environ) if cache is not None else None
        if key is None:
            return self.wsgi_app(environ, start_response)
        try:
            generation, entry = cache.lookup(key)
        except Exception as error:
            if unavailable_service(error) == DATABASE:
                # The generation could not be read: the database is out (a restart). Flask
                # answers the 503 problem with Retry-After (``cms.web``), with every header.
                environ[DATABASE_UNAVAILABLE] = error
            else:  # Redis out: a cache outage must not fail reads
                _log.warning("response cache unavailable", exc_info=True)
            return self.wsgi_app(environ, start_response)
        if entry is None:
            environ[MISSED] = (key, generation)
            return self.wsgi_app(environ, start_response)
        limit_headers = public_limit_headers(self.app, environ.get("REMOTE_ADDR"))
        if limit_headers is None:
            return self.wsgi_app(environ, start_response)
        headers = [
            *entry.headers,
            ("X-Request-ID", request_id(environ.get("HTTP_X_REQUEST_ID", ""))),
            *limit_headers,
        ]
        if entry.status == 200 and _not_modified(environ, entry.headers):
            remove_entity_headers(headers)
            start_response(_NOT_MODIFIED, headers)
            return []
        headers.append(("Content-Length", str(len(entry.body))))
        start_response(_STATUS_LINES[entry.status], headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [entry.body]


def _not_modified(environ, stored_headers) -> bool:
    if "HTTP_IF_NONE_MATCH" not in environ and "HTTP_IF_MODIFIED_SINCE" not in environ:
        return False
    headers = Headers(stored_headers)
    return not is_resource_modified(
        environ, headers.get("ETag"), last_modified=headers.get("Last-Modified")
    )
