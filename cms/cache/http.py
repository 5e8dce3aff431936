"""HTTP caching of public responses: ETag, Cache-Control, cache tags, 304 on conditional
requests, and what goes into the shared response cache (answered from by
``cms.cache.middleware``)."""

from __future__ import annotations

import xxhash
from flask import current_app, g, request
from werkzeug.http import quote_etag

from cms.cache.store import MISSED, CachedResponse, response_cache

CACHE_TAGS = "cms.cache_tags"  # WSGI environ key: what the response shows


def set_cache_tags(tags) -> None:
    """What this response shows, for CDN purges (``Cache-Tag``, ``Surrogate-Key``):
    ``article:<id>``, ``section:<slug>``, ``tag:<slug>``, ``list``. Events name the same."""
    request.environ[CACHE_TAGS] = list(dict.fromkeys(tags))


def _cache_tag_headers(tags) -> list[tuple[str, str]]:
    return [("Cache-Tag", ",".join(tags)), ("Surrogate-Key", " ".join(tags))]


def _add_cache_tags(response, tags) -> None:
    for key, value in _cache_tag_headers(tags):
        response.headers[key] = value


def _fresh_for(config) -> str:
    return (
        f"public, max-age={config['CMS_CACHE_MAX_AGE']}, "
        f"stale-while-revalidate={config['CMS_CACHE_STALE_WHILE_REVALIDATE']}"
    )


# Every public answer varies with the request's Origin (CORS), added after the caching headers.
VARY = "Origin"


def body_etag(body: bytes) -> str:
    """The strong ETag of a response body: its 128-bit XXH3 hash. Any change of the body
    changes it, as werkzeug's ``add_etag`` (SHA-1) does, at ~0.3 µs for a 40 KB search page
    instead of ~19 µs: a tag only has to tell versions of one URL apart, not resist forgery."""
    return quote_etag(xxhash.xxh3_128_hexdigest(body))


def fresh_headers(tags, config, untagged_body: bytes | None = None) -> list[tuple[str, str]]:
    """The caching headers of a public read's 200, in order: its cache tags,
    ``Cache-Control``, and, given the body of a response whose view set no ETag
    (``untagged_body``), an ETag of it. ``add_fresh_headers`` sets them on the response (the
    public hooks); ``cms.api.public.fast`` sends them as they are after the view's own,
    followed by ``Vary: Origin`` (``VARY``)."""
    headers = [*_cache_tag_headers(tags), ("Cache-Control", _fresh_for(config))]
    if untagged_body is not None:
        headers.append(("ETag", body_etag(untagged_body)))
    return headers


def add_fresh_headers(response, tags, config) -> None:
    """``fresh_headers`` set on the response (``public_cache_headers``); ``Vary: Origin``
    follows after the conditional answer."""
    untagged_body = None if "ETag" in response.headers else response.get_data()
    for key, value in fresh_headers(tags, config, untagged_body):
        response.headers[key] = value


# The request headers make_conditional answers (a 304, a 412, a range): without any of them
# it has nothing to decide, and werkzeug adds the Content-Length on sending anyway.
CONDITIONAL = frozenset(
    {
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_IF_MATCH",
        "HTTP_IF_UNMODIFIED_SINCE",
        "HTTP_RANGE",
        "HTTP_IF_RANGE",
    }
)


def public_cache_headers(response):
    """after_request hook of the public blueprints."""
    if request.method not in ("GET", "HEAD"):
        return response
    tags = request.environ.get(CACHE_TAGS) or ["list"]
    if response.status_code == 200:
        add_fresh_headers(response, tags, current_app.config)
        _remember(response)
        if not CONDITIONAL.isdisjoint(request.environ):
            response.make_conditional(request)
            # make_conditional adds a Date; the server sends its own (a second one is invalid).
            response.headers.pop("Date", None)
    elif response.status_code == 304:  # a view matched the tag itself
        _add_cache_tags(response, tags)
        response.headers["Cache-Control"] = _fresh_for(current_app.config)
    elif response.status_code == 301:
        _add_cache_tags(response, tags)
        response.headers["Cache-Control"] = (
            f"public, max-age={current_app.config['CMS_CACHE_MAX_AGE']}"
        )
        _remember(response)
    else:
        response.headers["Cache-Control"] = "no-store"
    response.vary.add(VARY)
    return response


def _remember(response) -> None:
    """Mark the response for the cache if the middleware looked the request up and missed."""
    if MISSED in request.environ:
        g.response_cache_candidate = (response, response.status_code)


def store_in_cache(app, response, **_extra) -> None:
    """``request_finished`` receiver: store the response as sent, after every hook ran."""
    candidate = g.pop("response_cache_candidate", None)
    cache = response_cache()
    if candidate is None or candidate[0] is not response or cache is None:
        return  # not cacheable, or replaced (by an error) after the public hooks
    if "Set-Cookie" in response.headers or not response.vary.as_set() <= {"origin"}:
        return  # the cache key covers the Origin only
    key, generation = request.environ[MISSED]
    cache.store_response(key, CachedResponse.capture(generation, candidate[1], response))
