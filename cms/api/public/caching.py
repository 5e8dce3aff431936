"""HTTP caching of public responses: ETag, Cache-Control, 304 on conditional requests."""

from __future__ import annotations

from flask import current_app, g, request

from cms.cache import response_cache
from cms.extensions import limiter

_KEPT_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Location", "Link")


def public_rate_limit(blueprint) -> None:
    """Apply ``CMS_PUBLIC_RATE_LIMIT`` (per client IP; shared via Redis when configured).

    One budget for the whole public API (a shared limit), not one per blueprint.
    """
    if getattr(blueprint, "_public_rate_limited", False):
        return  # already applied (create_app ran before in this process): count once
    blueprint._public_rate_limited = True
    limiter.shared_limit(
        lambda: current_app.config["CMS_PUBLIC_RATE_LIMIT"] or "1 per second",
        scope="public-api",
        exempt_when=lambda: not current_app.config["CMS_PUBLIC_RATE_LIMIT"],
    )(blueprint)


def serve_from_cache():
    """before_request hook of the public blueprints: answer from the shared response cache."""
    cache = response_cache()
    if cache is None or request.method not in ("GET", "HEAD"):
        return None
    entry = cache.lookup(request.full_path)
    if entry is None:
        return None
    g.served_from_cache = True
    response = current_app.response_class(
        entry["body"], status=entry["status"], headers=entry["headers"]
    )
    response.autocorrect_location_header = False
    return response


def _remember(response) -> None:
    cache = response_cache()
    if cache is None or g.get("served_from_cache") or response.status_code not in (200, 301):
        return
    cache.store_response(
        request.full_path,
        {
            "status": response.status_code,
            "body": response.get_data(as_text=True),
            "headers": {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers},
        },
    )


def public_cache_headers(response):
    """after_request hook of the public blueprints."""
    if request.method not in ("GET", "HEAD"):
        return response
    if response.status_code == 200:
        config = current_app.config
        response.headers["Cache-Control"] = (
            f"public, max-age={config['CMS_CACHE_MAX_AGE']}, "
            f"stale-while-revalidate={config['CMS_CACHE_STALE_WHILE_REVALIDATE']}"
        )
        if not response.get_etag()[0]:
            response.add_etag()
        _remember(response)
        response.make_conditional(request)
    elif response.status_code == 301:
        response.headers["Cache-Control"] = (
            f"public, max-age={current_app.config['CMS_CACHE_MAX_AGE']}"
        )
        _remember(response)
    else:
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Origin")
    return response
