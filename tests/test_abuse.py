"""Abuse limits (§6a, issue 6): the public API rate limit, security headers on every response,
and a production configuration that refuses to start without a real secret."""

from __future__ import annotations

import pytest

from cms import create_app
from cms.config import MIN_SECRET_LENGTH, ConfigError, load_config
from cms.extensions import db, limiter
from tests.conftest import make_article


@pytest.fixture
def article(users):
    return make_article("Rate limited story", author=users["editor"])


def test_public_rate_limit_answers_429_with_retry_after(app, client, article, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_PUBLIC_RATE_LIMIT", "3 per minute")
    paths = ["/api/v1/articles", f"/api/v1/articles/{article.slug}", "/api/v1/sections"]

    answers = [client.get(path) for path in paths]  # the limit is per client, across endpoints
    assert [r.status_code for r in answers] == [200, 200, 200]
    limited = client.get("/api/v1/tags")

    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    body = limited.get_json()
    assert body["status"] == 429 and "3 per 1 minute" in body["detail"]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["Cache-Control"] == "no-store"
    # another client (IP) is not affected
    other = client.get("/api/v1/tags", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_without_a_public_limit_nobody_is_limited(client, article):
    assert all(client.get("/api/v1/articles").status_code == 200 for _ in range(30))


def test_a_disabled_limiter_starts_and_limits_nobody(app, monkeypatch):
    """Flask-Limiter's own switch: the app starts, and no public limit answers a 429."""
    # (the extension is one per process: its switch is given back to the other tests' apps)
    monkeypatch.setattr(limiter, "enabled", limiter.enabled)
    disabled = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "RATELIMIT_ENABLED": False,
            "CMS_PUBLIC_RATE_LIMIT": "1 per minute",
        }
    )
    client = disabled.test_client()
    answers = [client.get("/api/v1/sections") for _ in range(3)]
    with disabled.app_context():
        db.session.remove()
        db.engine.dispose()
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in answers[-1].headers


def test_editor_api_is_not_under_the_public_limit(app, client, headers, monkeypatch):
    monkeypatch.setitem(app.config, "CMS_PUBLIC_RATE_LIMIT", "2 per minute")
    answers = [client.get("/api/v1/editor/articles", headers=headers["editor"])
               for _ in range(5)]
    assert {r.status_code for r in answers} == {200}


# --- security headers ---------------------------------------------------------------------------

PATHS = [
    ("GET", "/api/v1/articles"),
    ("GET", "/api/v1/articles/{slug}"),
    ("GET", "/api/v1/articles/no-such-article"),
    ("POST", "/api/v1/articles"),
    ("GET", "/api/v1/editor/articles"),
    ("GET", "/api/v1/editor/auth/me"),
    ("POST", "/api/v1/editor/auth/login"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/healthz"),
    ("GET", "/nowhere"),
]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_every_response_carries_security_headers(client, article, headers, method, path):
    auth = headers["editor"] if "/editor/" in path and not path.endswith("login") else {}
    response = client.open(path.format(slug=article.slug), method=method, headers=auth,
                           json={} if method == "POST" else None)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_hsts_when_the_request_came_over_tls(app, article, headers, method, path):
    client = app.test_client()
    auth = headers["editor"] if "/editor/" in path and not path.endswith("login") else {}
    response = client.open(path.format(slug=article.slug), method=method, headers=auth,
                           base_url="https://localhost",
                           json={} if method == "POST" else None)

    hsts = response.headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= 180 * 24 * 3600


def test_api_responses_forbid_everything_and_docs_allow_only_their_own_assets(client, users):
    api = client.get("/api/v1/sections").headers["Content-Security-Policy"]
    assert api.startswith("default-src 'none'")

    docs = client.get("/api/docs").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in docs.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    for name in ("script-src", "style-src", "img-src"):
        sources = directives[name].split()
        # no other origin, no wildcard: the page works offline from its own assets
        assert all(s in ("'self'", "'unsafe-inline'", "data:") for s in sources), directives
    assert directives["frame-ancestors"] == "'none'"


# --- secrets in production ----------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "short", "x" * (MIN_SECRET_LENGTH - 1)])
def test_production_refuses_a_missing_or_short_secret(tmp_path, secret):
    environ = {"CMS_ENV": "production", "CMS_DATABASE_URL": "sqlite://"}
    if secret is not None:
        environ["CMS_SECRET_KEY"] = secret

    with pytest.raises(ConfigError, match="CMS_SECRET_KEY"):
        load_config(str(tmp_path), environ)
    assert not (tmp_path / "secret_key").exists()  # no key was made up


def test_production_starts_with_a_long_secret(tmp_path):
    config = load_config(str(tmp_path), {"CMS_ENV": "production", "CMS_DATABASE_URL": "sqlite://",
                                         "CMS_SECRET_KEY": "k" * MIN_SECRET_LENGTH})
    assert config["SECRET_KEY"] == config["JWT_SECRET_KEY"] == "k" * MIN_SECRET_LENGTH


def test_create_app_refuses_to_start_in_production_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("CMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CMS_ENV", "production")
    monkeypatch.setenv("CMS_DATABASE_URL", "sqlite://")
    monkeypatch.delenv("CMS_SECRET_KEY", raising=False)

    with pytest.raises(ConfigError):
        create_app()
