"""The reference news site: the static pages of ``site/`` served at ``/`` (``CMS_SERVE_SITE``).

The pages are plain HTML; their scripts render everything from the public API (``/api/v1``)
in the browser, so this blueprint only maps the site's addresses to its files. The pages get
a Content-Security-Policy that lets them load their own scripts and styles; API responses keep
the app's own (``cms.web``), which allows nothing.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_from_directory

SITE_DIR = Path(__file__).resolve().parent.parent / "site"

# Scripts, styles and API calls from this origin only; images also from https (hero images
# live on the newsroom's image hosts); no frames, plugins or inline code.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' https: data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

blp = Blueprint(
    "site",
    __name__,
    static_folder=str(SITE_DIR / "assets"),
    static_url_path="/assets",
)


@blp.after_request
def _site_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    # send_file's conditional handling adds a Date; the server sends its own.
    response.headers.pop("Date", None)
    return response


def _page(name: str):
    return send_from_directory(SITE_DIR, name, max_age=0)


@blp.get("/")
def front_page():
    return _page("index.html")


@blp.get("/articles/<slug>")
def article(slug: str):
    return _page("article.html")


@blp.get("/sections/<slug>")
def section(slug: str):
    return _page("section.html")


@blp.get("/search")
def search():
    return _page("search.html")


@blp.get("/preview/<token>")
def preview(token: str):
    """A draft preview link, opened in the article template (see ``/api/v1/preview``)."""
    response = _page("article.html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
