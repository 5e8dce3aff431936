"""Two app processes sharing one PostgreSQL and one Redis agree on revocation, cache and limits.

Runs when the suite runs on PostgreSQL (``CMS_TEST_DATABASE_URL``) and Redis answers.
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

from cms.extensions import db
from tests.conftest import PASSWORD, make_article, make_user

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("CMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except Exception:
        return False


pytestmark = pytest.mark.skipif(
    not os.environ.get("CMS_TEST_DATABASE_URL") or not _redis_up(),
    reason="needs PostgreSQL (CMS_TEST_DATABASE_URL) and Redis",
)


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
def _processes(app, tmp_path, **settings):
    """Two gunicorn processes of the app sharing the test database and Redis."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ,
        "CMS_ENV": "production",
        "CMS_SECRET_KEY": app.config["SECRET_KEY"],
        "CMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CMS_REDIS_URL": REDIS_URL,
        "CMS_INSTANCE_PATH": str(tmp_path),
        "CMS_LOGIN_LIMIT_ACCOUNT": "3 per 15 minutes",
        **settings,
    }
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


@pytest.fixture
def two_processes(app, tmp_path):
    with _processes(app, tmp_path) as urls:
        yield urls


@pytest.fixture
def two_rate_limited_processes(app, tmp_path):
    with _processes(app, tmp_path, CMS_PUBLIC_RATE_LIMIT="5 per minute") as urls:
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
