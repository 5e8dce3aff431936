"""HTTP caching of public responses: ETag, Cache-Control, 304 on conditional requests."""

from __future__ import annotations

from flask import current_app, request


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
        response.make_conditional(request)
    elif response.status_code == 301:
        response.headers["Cache-Control"] = (
            f"public, max-age={current_app.config['CMS_CACHE_MAX_AGE']}"
        )
    else:
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Origin")
    return response
