"""The reference news site as the app serves it (``CMS_SERVE_SITE``): addresses, headers and
the setting. What the pages show in a browser is in ``test_site_browser.py``."""

from __future__ import annotations

import pytest

from cms import create_app
from cms.site import CONTENT_SECURITY_POLICY
from tests.conftest import make_article

API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGES = {
    "/": "front.js",
    "/articles/port-strike-ends-with-three-year-pay-deal": "article.js",
    "/sections/economy": "section.js",
    "/search?q=strike": "search.js",
    "/preview/some-token": "article.js",
}


def _app(app, monkeypatch, env: dict[str, str | None], **config):
    """A second app on the test database, configured from ``env`` like a real start."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            **config,
        }
    )


@pytest.fixture
def site_client(app, monkeypatch):
    application = _app(app, monkeypatch, {"CMS_SERVE_SITE": "1", "CMS_ENV": "testing"})
    yield application.test_client()
    application.extensions["sqlalchemy"].engines[None].dispose()


@pytest.mark.parametrize("path", list(PAGES))
def test_each_address_serves_its_page(site_client, path):
    response = site_client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert f'src="/assets/{PAGES[path]}"' in html
    assert '<html lang="en">' in html
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert len(response.headers.getlist("Date")) <= 1  # the server adds the one Date


def test_assets_are_served_with_the_site_policy(site_client):
    for path, mimetype in (
        ("/assets/site.css", "text/css"),
        ("/assets/common.js", "text/javascript"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ):
        response = site_client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == mimetype
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert site_client.get("/assets/missing.js").status_code == 404


def test_site_policy_allows_own_scripts_and_styles_only():
    policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_api_responses_keep_their_own_headers_when_the_site_is_on(site_client, taxonomy):
    article = make_article()
    for path in (
        "/api/v1/articles",
        f"/api/v1/articles/{article.slug}",
        "/api/v1/articles/nope",
        "/api/v1/search?q=the",
        "/healthz",
    ):
        response = site_client.get(path)
        assert response.headers["Content-Security-Policy"] == API_CSP, path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    # the response cache answers the second time: still the API's own policy
    again = site_client.get("/api/v1/articles")
    assert again.headers["Content-Security-Policy"] == API_CSP


def test_preview_page_is_never_cached_or_indexed(site_client):
    response = site_client.get("/preview/abc")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"


@pytest.mark.parametrize(
    ("env", "served"),
    [
        ({"CMS_ENV": "development", "CMS_SERVE_SITE": None}, True),
        ({"CMS_ENV": "development", "CMS_SERVE_SITE": "0"}, False),
        (
            {
                "CMS_ENV": "production",
                "CMS_SERVE_SITE": None,
                "CMS_SECRET_KEY": "production-secret-that-is-long-enough-0123456789",
            },
            False,
        ),
        (
            {
                "CMS_ENV": "production",
                "CMS_SERVE_SITE": "1",
                "CMS_SECRET_KEY": "production-secret-that-is-long-enough-0123456789",
            },
            True,
        ),
    ],
)
def test_setting_turns_the_site_on_and_off(app, monkeypatch, env, served):
    application = _app(app, monkeypatch, env)
    client = application.test_client()
    front = client.get("/")
    assert front.status_code == (200 if served else 404)
    if not served:
        assert front.mimetype == "application/problem+json"
        assert client.get("/articles/anything").status_code == 404
        assert client.get("/assets/site.css").status_code == 404
    # the API is there either way
    assert client.get("/api/v1/articles").status_code == 200
    application.extensions["sqlalchemy"].engines[None].dispose()


def test_a_bad_setting_is_refused(app, monkeypatch):
    from cms.config import ConfigError

    with pytest.raises(ConfigError, match="CMS_SERVE_SITE"):
        _app(app, monkeypatch, {"CMS_SERVE_SITE": "yes"})
