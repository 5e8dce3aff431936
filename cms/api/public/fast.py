"""The hot public reads, answered before Flask's request machinery.

An anonymous GET or HEAD of the article list, an article, its related articles or its
summary, or of the list of sections, tags, authors or sources, without a query string, or of
a search, without a body or a conditional header but ``If-None-Match``, while the response
cache is off (with it on, its own middleware answers the hits, and Flask the misses it
stores). The response is the one Flask would send, built by the same functions: the views'
``list_page``, ``article_page``, ``related_page`` and ``summary_page``
(``cms.api.public.articles``), ``taxonomy_page`` (``cms.api.public.taxonomies``) and
``search_page`` (``cms.api.public.search``, which parses the query string as the view's
parser does), whose ``Answer`` (body, the view's headers, cache tags) is sent without making
it a werkzeug response, then the headers of the public hooks
(``cms.cache.http.fresh_headers``), of every response (``cms.web.finished``), flask-cors's
and the public rate limit's (``cms.rate_limits.public_limit_headers``), on a plain list sent
as werkzeug sends such a 200. The services' statements run compiled once on a pooled DB-API
connection (``cms.services.public.compiled``). What it leaves out: the request context, the
before- and after-request hooks, flask-smorest's and webargs' wrappers, the ORM session and
SQLAlchemy's execution path: about 40% of the CPU of such a request in process
(bench/README.md, rounds 5 and 6), and three quarters of a summary's or a taxonomy list's
(round 16).

``If-None-Match`` is answered as Flask answers it: the list decides its 304 from the page's
keys before reading the page (``articles.current_list_etag``, as its view does), the others
compare the tag of the page they made (as ``make_conditional`` does); a 304 carries the
200's headers but those of the body.

Everything else goes to Flask, which answers it as without this path: other URLs and
methods, a query string (but the search's), a query string the search refuses (400),
``Authorization``, a body, the other conditional headers, a moved, missing or removed
article (301, 404, 410), an article without a summary (404), one entry of a taxonomy, any
error, and a request over the public rate limit (Flask answers the 429; like a refused hit
of the response cache, it has counted twice). When the database cannot be reached, Flask
answers the 503 without trying again.
"""

from __future__ import annotations

import functools

from flask import Flask
from flask_cors.core import get_cors_headers, get_cors_options
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException
from werkzeug.http import is_resource_modified, quote_etag, remove_entity_headers
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_path_info

from cms.api.public import articles, search, taxonomies
from cms.api.responses import JSON_TYPE, Answer
from cms.availability import DATABASE, unavailable_service
from cms.cache.http import CONDITIONAL, VARY, fresh_headers
from cms.config import cors_settings
from cms.extensions import db
from cms.rate_limits import public_limit_headers
from cms.schemas.articles.public import ArticleListQuery, RelatedQuery
from cms.services.public import compiled, reading
from cms.web import DATABASE_UNAVAILABLE, finished, request_id

_PREFIXES = ("/api/v1/articles", "/api/v1/search", *(f"/api/v1/{k}" for k in taxonomies.KINDS))
# The request headers flask-cors reads for a request that is not a preflight.
_CORS_SENT = ("HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")
# Requests the path leaves to Flask: a login, a conditional request but one with only
# ``If-None-Match``, a chunked body, a protocol upgrade (a websocket, which Flask's routing
# refuses).
_NOT_PLAIN = (CONDITIONAL - {"HTTP_IF_NONE_MATCH"}) | {
    "HTTP_AUTHORIZATION",
    "HTTP_TRANSFER_ENCODING",
    "HTTP_UPGRADE",
}
_NOT_MODIFIED = "304 NOT MODIFIED"  # as werkzeug writes it


class FastReads:
    """WSGI middleware around Flask's ``wsgi_app`` (installed by ``create_app``)."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        # The parsed empty query strings, as the views resolve them.
        list_query = ArticleListQuery().load({})
        related_query = RelatedQuery().load({})
        page_query = taxonomies.TaxonomyQuery().load({})
        self._reads = {
            "public_articles.Articles": lambda sent, _slug: articles.list_page(
                {}, sent=sent, **list_query
            ),
            "public_articles.ArticleBySlug": lambda _sent, slug: articles.article_page(slug),
            "public_articles.ArticleRelated": lambda _sent, slug: articles.related_page(
                slug, **related_query
            ),
            "public_articles.ArticleSummary": lambda _sent, slug: articles.summary_page(slug),
            "public_search.Search": lambda sent, _slug: search.search_page(sent),
            **{
                f"public_taxonomies.{kind}": functools.partial(_taxonomy_page, kind, page_query)
                for kind in taxonomies.KINDS
            },
        }
        # The reads that decide a conditional request's 304 before reading the page, by read:
        # how to get the ETag the page has now (unquoted), and the cache tags of that 304.
        self._unchanged = {
            self._reads["public_articles.Articles"]: (
                lambda sent: articles.current_list_etag({}, sent=sent, **list_query),
                articles.list_tags({}),
            )
        }
        # The reads that take a query string (parsed as their view's is).
        self._with_query = {"public_search.Search"}
        # The URL map bound once: without SERVER_NAME (see ``_match``) the host plays no part
        # in matching, only the path and the method (binding it per request: ~15 µs). The
        # answers for the most recent paths are kept: the map does not change once the app
        # serves, and a path's endpoint and slug are all that is kept (~20 µs per request).
        routes = app.url_map.bind("")
        self._route = functools.lru_cache(maxsize=4096)(
            lambda path, method: _route(routes, path, method)
        )
        # The CORS options as flask-cors resolves them. Its headers for a GET or HEAD are a
        # function of the method and the ``_CORS_SENT`` headers (the other
        # ``Access-Control-Request-*`` headers count in a preflight only): those of the most
        # recent ones are kept (~5 µs per request).
        settings = cors_settings(app.config)
        cors = get_cors_options(app, settings, settings["resources"][r"/api/*"])
        self._cors_headers = functools.lru_cache(maxsize=256)(
            functools.partial(_cors_headers, cors)
        )

    def __call__(self, environ, start_response):
        matched = self._match(environ)
        if matched is None:
            return self.wsgi_app(environ, start_response)
        read, slug = matched
        sent = Request(environ)
        conditional = "HTTP_IF_NONE_MATCH" in environ
        try:
            with self.app.app_context(), compiled.borrowed_connection(db.engine):
                unchanged = self._unchanged.get(read) if conditional else None
                etag = unchanged[0](sent) if unchanged is not None else None
                if etag is not None and sent.if_none_match.contains_weak(etag):
                    found = Answer(b"", {"ETag": quote_etag(etag)}, unchanged[1])
                else:
                    found, etag = read(sent, slug), None
        except Exception as error:
            if unavailable_service(error) == DATABASE:
                environ[DATABASE_UNAVAILABLE] = error  # Flask answers the 503
            return self.wsgi_app(environ, start_response)
        if isinstance(found, reading.Moved):
            return self.wsgi_app(environ, start_response)
        limit_headers = public_limit_headers(self.app, environ.get("REMOTE_ADDR"))
        if limit_headers is None:
            return self.wsgi_app(environ, start_response)
        # The headers of the view's response (``Answer.response``: ``json_response``'s, then
        # the view's), then the hooks', in their order, on a plain list: werkzeug's ``Headers``
        # compares names case-insensitively one by one on every change, and copies them all on
        # sending. A 304 decided before the page (``etag``) is the view's own, with the
        # hooks' headers of a 304.
        body = found.body
        if etag is None:
            headers = [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body)))]
            headers += found.headers.items()
            headers += fresh_headers(
                found.tags, self.app.config, None if "ETag" in found.headers else body
            )
        else:
            headers = [*found.headers.items(), *fresh_headers(found.tags, self.app.config)]
        headers.append(("Vary", VARY))
        finished(
            headers,
            200,
            request_id(environ.get("HTTP_X_REQUEST_ID", "")),
            secure=sent.is_secure,
            path=sent.path,
        )
        headers += self._cors_headers(
            environ["REQUEST_METHOD"], *(environ.get(key) for key in _CORS_SENT)
        )
        headers += limit_headers
        if conditional and (
            etag is not None
            or not is_resource_modified(environ, next(v for k, v in headers if k == "ETag"))
        ):
            # What werkzeug sends for a 304 (``make_conditional``'s, or the view's): the same
            # headers but those of the body, and no body.
            remove_entity_headers(headers)
            start_response(_NOT_MODIFIED, headers)
            return []
        # What werkzeug sends for a 200 whose body is bytes (its Content-Length is set): these
        # headers, and the body unless the request is a HEAD.
        start_response("200 OK", headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _match(self, environ):
        """The read answering this request and the slug it names, or ``None``."""
        if (
            environ["REQUEST_METHOD"] not in ("GET", "HEAD")
            or not environ.get("PATH_INFO", "").startswith(_PREFIXES)
            or environ.get("CONTENT_LENGTH", "0") not in ("", "0")
            or not _NOT_PLAIN.isdisjoint(environ)
            or self.app.extensions.get("cms_response_cache") is not None
            or self.app.config.get("SERVER_NAME")  # Flask's routing then checks the host
            or self.app.url_map.host_matching
            or self.app.config.get("TRUSTED_HOSTS")
        ):
            return None
        matched = self._route(get_path_info(environ), environ["REQUEST_METHOD"])
        if matched is None:
            return None
        endpoint, slug = matched
        read = self._reads.get(endpoint)
        if read is None or (environ.get("QUERY_STRING") and endpoint not in self._with_query):
            return None
        return read, slug


def _taxonomy_page(kind: str, query: dict, sent, _slug):
    return taxonomies.taxonomy_page(kind, sent=sent, **query)


def _cors_headers(cors, method: str, *sent: str | None) -> tuple[tuple[str, str], ...]:
    """flask-cors's headers for a request with this method and these ``_CORS_SENT`` values."""
    present = {key: value for key, value in zip(_CORS_SENT, sent, strict=True) if value is not None}
    return tuple(get_cors_headers(cors, EnvironHeaders(present), method).items())


def _route(routes, path: str, method: str) -> tuple[str, str] | None:
    """The endpoint ``path`` goes to and the slug it names; ``None`` when routing answers
    otherwise (not found, a method not allowed, a redirect) or the slug has a NUL."""
    try:
        endpoint, values = routes.match(path, method)
    except HTTPException:
        return None
    slug = values.get("slug", "")
    if "\x00" in slug:
        return None
    return endpoint, slug
