"""Two app processes sharing one database agree on revocation, cache and limits.

Every write is seen by every process at once, with and without Redis, on SQLite and
PostgreSQL (Redis variants run when Redis answers).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import WebhookDelivery
from tests.conftest import PASSWORD, make_article, make_user

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("CMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason=f"needs Redis at {REDIS_URL}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


@contextmanager
def _processes(app, tmp_path, *, redis_url: str | None = REDIS_URL, **settings):
    """Two gunicorn processes of the app sharing the test database (and Redis, if given)."""
    env = {
        **os.environ,
        "CMS_ENV": "production",
        "CMS_SECRET_KEY": app.config["SECRET_KEY"],
        "CMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CMS_INSTANCE_PATH": str(tmp_path),
        "CMS_LOGIN_LIMIT_ACCOUNT": "3 per 15 minutes",
        **settings,
    }
    env.pop("CMS_REDIS_URL", None)
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env["CMS_REDIS_URL"] = redis_url
    servers, urls = [], []
    for _ in range(2):
        port = _free_port()
        servers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    "1",
                    "-b",
                    f"127.0.0.1:{port}",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.time() + 30
        for url in urls:
            while True:
                try:
                    if _call("GET", f"{url}/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise RuntimeError("app processes did not start")
                time.sleep(0.2)
        yield urls
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        db.session.remove()


# Each test using these runs twice: without Redis (the default) and with it.
REDIS_OR_NOT = [None, pytest.param(REDIS_URL, marks=needs_redis)]


@pytest.fixture(params=REDIS_OR_NOT, ids=["no-redis", "redis"])
def two_processes(app, tmp_path, request):
    with _processes(app, tmp_path, redis_url=request.param) as urls:
        yield urls


@pytest.fixture(params=REDIS_OR_NOT, ids=["no-redis", "redis"])
def two_rate_limited_processes(app, tmp_path, request):
    with _processes(
        app, tmp_path, redis_url=request.param, CMS_PUBLIC_RATE_LIMIT="5 per minute"
    ) as urls:
        yield urls


def _login(url, email):
    status, _, body = _call(
        "POST", f"{url}/api/v1/editor/auth/login", {"email": email, "password": PASSWORD}
    )
    assert status == 200, body
    return {"Authorization": f"Bearer {body['access_token']}"}


def test_revocation_cache_and_rate_limits_hold_across_processes(users, two_processes):
    a, b = two_processes
    editor = users["editor"]
    article = make_article("Harbour ferry timetable changes")
    db.session.commit()

    # A token revoked through A is refused by B at once.
    auth = _login(a, editor.email)
    assert _call("GET", f"{b}/api/v1/editor/auth/me", headers=auth)[0] == 200
    assert _call("POST", f"{a}/api/v1/editor/auth/logout", headers=auth)[0] == 204
    assert _call("GET", f"{b}/api/v1/editor/auth/me", headers=auth)[0] == 401

    # B caches the article; an edit through A is visible on B immediately.
    path = f"/api/v1/articles/{article.slug}"
    first = _call("GET", f"{b}{path}")
    assert first[0] == 200
    cached = _call("GET", f"{b}{path}")
    assert cached[2]["title"] == "Harbour ferry timetable changes"
    etag = first[1]["ETag"]
    assert _call("GET", f"{a}{path}", headers={"If-None-Match": etag})[0] == 304
    auth = _login(a, editor.email)
    status, headers, _ = _call("GET", f"{a}/api/v1/editor/articles/{article.id}", headers=auth)
    new_title = f"Ferry timetable changes {uuid.uuid4().hex[:6]}"
    status, _, body = _call(
        "PATCH",
        f"{a}/api/v1/editor/articles/{article.id}",
        {"title": new_title},
        {**auth, "If-Match": headers["ETag"]},
    )
    assert status == 200, body
    status, _, body = _call("GET", f"{b}{path}")
    assert status == 200 and body["title"] == new_title
    status, _, body = _call("GET", f"{a}{path}", headers={"If-None-Match": etag})
    assert status == 200 and body["title"] == new_title

    # Failed logins count against one shared limit, whichever process sees them.
    victim = make_user("writer")
    wrong = {"email": victim.email, "password": "not the password"}
    assert _call("POST", f"{a}/api/v1/editor/auth/login", wrong)[0] == 401
    assert _call("POST", f"{b}/api/v1/editor/auth/login", wrong)[0] == 401
    assert _call("POST", f"{a}/api/v1/editor/auth/login", wrong)[0] == 401
    status, headers, body = _call("POST", f"{b}/api/v1/editor/auth/login", wrong)
    assert status == 429, body
    assert int(headers["Retry-After"]) > 0


def test_answers_from_the_shared_cache_count_against_one_public_limit(
    users, two_rate_limited_processes
):
    a, b = two_rate_limited_processes
    make_article("Harbour ferry timetable changes")
    db.session.commit()
    path = "/api/v1/articles"
    answers = [_call("GET", f"{url}{path}") for url in (a, b, a, b, a)]
    assert [status for status, _, _ in answers] == [200] * 5
    assert [h["X-RateLimit-Remaining"] for _, h, _ in answers] == ["4", "3", "2", "1", "0"]
    assert answers[1][2] == answers[0][2]
    status, headers, body = _call("GET", f"{b}{path}")
    assert status == 429, body
    assert int(headers["Retry-After"]) > 0


# --- every write is seen by every process at once -------------------------------------------


class _Site:
    """Two processes (``a`` takes the writes, both are read) and an editor's login on ``a``."""

    def __init__(self, urls, editor_email):
        self.urls = urls
        self.a = urls[0]
        self.auth = _login(self.a, editor_email)

    def read_everywhere(self, path, times=2):
        """Read ``path`` from every process (twice: the second answer may come from a cache)."""
        answers = []
        for url in self.urls:
            for _ in range(times):
                status, _, body = _call("GET", f"{url}{path}")
                answers.append((status, body))
        return answers

    def write(self, method, path, body=None, article_id=None):
        headers = dict(self.auth)
        if article_id is not None:
            url = f"{self.a}/api/v1/editor/articles/{article_id}"
            headers["If-Match"] = _call("GET", url, headers=self.auth)[1]["ETag"]
        status, _, answer = _call(method, f"{self.a}{path}", body, headers)
        assert status in (200, 201, 204), (path, status, answer)
        return answer


PUBLIC_PATHS = (
    "/api/v1/articles",
    "/api/v1/articles/{slug}",
    "/api/v1/articles/{slug}/summary",
    "/api/v1/articles/{slug}/related",
    "/api/v1/articles/{slug}/related?scope=section",
    "/api/v1/articles/{other}",
    "/api/v1/search?q=ferry",
    "/api/v1/sections",
    "/api/v1/sections/news",
    "/api/v1/tags/energy",
    "/api/v1/sources",
)


@pytest.mark.parametrize("with_redis", [False, pytest.param(True, marks=needs_redis)])
def test_every_write_is_seen_by_every_process_at_once(app, users, tmp_path, with_redis):
    ferry = make_article("Harbour ferry timetable changes")
    other = make_article("Tram depot opens on the east bank")
    draft = make_article("Ferry crews vote on a new contract", status="draft")
    db.session.commit()
    slugs = {"slug": ferry.slug, "other": other.slug}
    paths = [p.format(**slugs) for p in PUBLIC_PATHS]

    def warm():
        for path in paths:
            for status, _ in _site.read_everywhere(path):
                assert status in (200, 404), path

    def everywhere(path):
        return _site.read_everywhere(path.format(**slugs))

    redis_url = REDIS_URL if with_redis else None
    with _processes(app, tmp_path, redis_url=redis_url) as urls:
        _site = _Site(urls, users["editor"].email)

        warm()
        _site.write(
            "PATCH",
            f"/api/v1/editor/articles/{ferry.id}",
            {"title": "Ferry timetable changes again"},
            article_id=ferry.id,
        )
        assert {b["title"] for _, b in everywhere("/api/v1/articles/{slug}")} == {
            "Ferry timetable changes again"
        }
        assert all(
            "Ferry timetable changes again" in [i["title"] for i in b["data"]]
            for _, b in everywhere("/api/v1/articles")
        )

        warm()
        _site.write(
            "PUT",
            f"/api/v1/editor/articles/{ferry.id}/related",
            {
                "links": [
                    {
                        "url": "https://example.org/timetable",
                        "title": "Timetable",
                        "label": "Background",
                    }
                ]
            },
        )
        for status, body in everywhere("/api/v1/articles/{slug}/related"):
            assert status == 200 and body["related"][0]["label"] == "Background"

        warm()
        _site.write(
            "PUT",
            f"/api/v1/editor/articles/{ferry.id}/summary",
            {"tldr": "The ferry runs later on Sundays."},
        )
        for status, body in everywhere("/api/v1/articles/{slug}/summary"):
            assert status == 200 and body["tldr"] == "The ferry runs later on Sundays."

        warm()
        _site.write("PATCH", "/api/v1/editor/sections/news", {"name": "City news"})
        for _, body in everywhere("/api/v1/articles/{slug}"):
            assert body["section"]["name"] == "City news"
        for _, body in everywhere("/api/v1/sections"):
            assert "City news" in [s["name"] for s in body["data"]]

        warm()
        _site.write("POST", f"/api/v1/editor/articles/{draft.id}/publish", {}, article_id=draft.id)
        slugs["draft"] = draft.slug
        for status, _ in everywhere("/api/v1/articles/{draft}"):
            assert status == 200
        for _, body in everywhere("/api/v1/search?q=ferry"):
            assert draft.slug in [i["slug"] for i in body["data"]]

        warm()
        _site.write(
            "POST", f"/api/v1/editor/articles/{draft.id}/unpublish", {}, article_id=draft.id
        )
        for status, _ in everywhere("/api/v1/articles/{draft}"):
            assert status == 404
        for _, body in everywhere("/api/v1/search?q=ferry"):
            assert draft.slug not in [i["slug"] for i in body["data"]]

        warm()
        _site.write("POST", f"/api/v1/editor/articles/{ferry.id}/archive", {}, article_id=ferry.id)
        for path in (
            "/api/v1/articles/{slug}",
            "/api/v1/articles/{slug}/summary",
            "/api/v1/articles/{slug}/related",
        ):
            assert {status for status, _ in everywhere(path)} == {404}, path
        for _, body in everywhere("/api/v1/articles"):
            assert ferry.slug not in [i["slug"] for i in body["data"]]
        for _, body in everywhere("/api/v1/articles/{other}"):
            neighbours = [body.get("previous"), body.get("next")]
            assert ferry.slug not in [n["slug"] for n in neighbours if n]
        for _, body in everywhere("/api/v1/sections/news"):
            assert body["article_count"] == 1

        # A scheduled publication appears on time, though every process cached the lists.
        soon = time.time() + 3
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(soon + 1))
        _site.write(
            "POST",
            f"/api/v1/editor/articles/{draft.id}/publish",
            {"publish_at": when},
            article_id=draft.id,
        )
        warm()
        for _, body in everywhere("/api/v1/articles"):
            assert draft.slug not in [i["slug"] for i in body["data"]]
        time.sleep(max(0.0, soon + 1.5 - time.time()))
        for _, body in everywhere("/api/v1/articles"):
            assert body["data"][0]["slug"] == draft.slug
        assert {status for status, _ in everywhere("/api/v1/articles/{draft}")} == {200}


def test_a_webhook_change_in_one_process_reaches_the_next_publish_in_another(app, users, tmp_path):
    """Each process keeps the webhook endpoints in memory while their version on the content
    generation row stays the same: an endpoint created, narrowed or deleted through B counts
    for the very next publication through A."""
    drafts = [make_article(f"Ferry story {i}", status="draft") for i in range(4)]
    db.session.commit()
    ids = [d.id for d in drafts]

    def deliveries():
        db.session.rollback()
        rows = db.session.execute(
            sa.select(WebhookDelivery.endpoint_id, WebhookDelivery.article_id)
        ).all()
        return {(endpoint, article) for endpoint, article in rows}

    with _processes(app, tmp_path, redis_url=None, CMS_WEBHOOK_ALLOW_PRIVATE="1") as (a, b):
        editor = _Site([a, b], users["editor"].email)
        admin = _login(b, users["admin"].email)

        def publish(article_id):
            editor.write(
                "POST", f"/api/v1/editor/articles/{article_id}/publish", {}, article_id=article_id
            )

        publish(ids[0])  # A reads (and keeps) the list of endpoints: none
        assert deliveries() == set()

        status, _, hook = _call(
            "POST",
            f"{b}/api/v1/editor/webhooks",
            {"url": "http://127.0.0.1:9/hook", "events": ["article.published"]},
            admin,
        )
        assert status == 201, hook
        publish(ids[1])
        assert deliveries() == {(hook["id"], ids[1])}

        status, _, body = _call(
            "PATCH",
            f"{b}/api/v1/editor/webhooks/{hook['id']}",
            {"events": ["article.updated"]},
            admin,
        )
        assert status == 200, body
        publish(ids[2])
        assert deliveries() == {(hook["id"], ids[1])}

        assert _call("DELETE", f"{b}/api/v1/editor/webhooks/{hook['id']}", headers=admin)[0] == 204
        publish(ids[3])  # a delivery to the deleted endpoint would fail its foreign key
        assert deliveries() == set()
