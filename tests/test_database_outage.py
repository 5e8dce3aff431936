"""A database that goes away for a moment (a restart, a failover): every request caught by it is
answered 503 problem+json with ``Retry-After``, never 500; ``/readyz`` answers 503 until the
database is back; nothing half-written remains; the app reconnects by itself.

On PostgreSQL the outage is a TCP proxy between the app and the server, cut and restored by the
test (the server itself is shared and never touched): at every phase a restart can hit a
request (a dead pooled connection's first statement, a checkout refused, the commit, the
response cache's lookup and fill) and on every kind of path (public reads, editor reads and
writes behind the JWT session lookup, login). On SQLite the moment is a write lock held by
another process beyond the busy timeout. A Redis outage (the shared rate-limit store) is a 503
too.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import sqlalchemy as sa

from cms import create_app
from cms.extensions import db, limiter
from tests.conftest import PASSWORD, auth_headers, make_article
from tests.tcp_proxy import TcpProxy

ARTICLE = {
    "title": "Written during the outage",
    "body": [{"type": "paragraph", "text": "The harbour reopened on Monday."}],
}


def _config(app, **overrides) -> dict:
    """The test app's configuration, answering errors as production does (no propagation)."""
    config = {
        name: app.config[name]
        for name in ("CMS_ENV", "CMS_PASSWORD_HASH_PROFILE", "SECRET_KEY", "JWT_SECRET_KEY")
    }
    config.update(
        TESTING=False,
        PROPAGATE_EXCEPTIONS=False,
        CMS_REDIS_URL=None,
        RATELIMIT_STORAGE_URI="memory://",
    )
    config.update(overrides)
    return config


@pytest.fixture(autouse=True)
def _keep_limiter(monkeypatch):
    """``create_app`` binds the one Limiter to the newest app's storage: put it back after."""
    monkeypatch.setattr(limiter, "_storage", limiter._storage)
    monkeypatch.setattr(limiter, "_limiter", limiter._limiter)


def _assert_outage(response) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True))
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "application/problem+json"
    assert response.headers["X-Request-ID"]
    assert response.get_json()["status"] == 503


@pytest.fixture(params=[False, True], ids=["no-pre-ping", "pre-ping"])
def proxied(request, app, users):
    """(app, proxy): an app of its own reaching the test database through a TCP proxy."""
    url = db.engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("cuts a PostgreSQL connection (set CMS_TEST_DATABASE_URL)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied_url = url.set(host="127.0.0.1", port=proxy.port)
    outage_app = create_app(
        _config(
            app,
            SQLALCHEMY_DATABASE_URI=proxied_url.render_as_string(hide_password=False),
            CMS_DATABASE_PRE_PING=request.param,
        )
    )
    yield outage_app, proxy
    proxy.close()
    with outage_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_every_path_answers_503_during_the_outage_and_200_after(proxied, users):
    outage_app, proxy = proxied
    article = make_article("Still here")
    db.session.commit()
    client = outage_app.test_client()
    editor = auth_headers(client, users["editor"].email)
    etag = client.get(f"/api/v1/editor/articles/{article.id}", headers=editor).headers["ETag"]
    key = str(uuid.uuid4())
    requests = {
        "public list (response cache lookup)": lambda: client.get("/api/v1/articles"),
        "public detail": lambda: client.get(f"/api/v1/articles/{article.slug}"),
        "search": lambda: client.get("/api/v1/search?q=port"),
        "taxonomy": lambda: client.get("/api/v1/sections"),
        "editor read (JWT session lookup)": lambda: client.get(
            "/api/v1/editor/articles", headers=editor
        ),
        "create": lambda: client.post(
            "/api/v1/editor/articles", json=ARTICLE, headers={**editor, "Idempotency-Key": key}
        ),
        "patch": lambda: client.patch(
            f"/api/v1/editor/articles/{article.id}",
            json={"title": "Changed during the outage"},
            headers={**editor, "If-Match": etag},
        ),
        "login": lambda: client.post(
            "/api/v1/editor/auth/login",
            json={"email": users["admin"].email, "password": PASSWORD},
        ),
        "readiness": lambda: client.get("/readyz"),
    }
    for name, call in requests.items():
        for _ in range(2):  # open connections in the pool
            assert client.get("/api/v1/articles").status_code == 200
        proxy.cut()
        # first: a pooled connection that the "restart" cut; then: a connection refused
        for attempt in ("dead pooled connection", "refused connection"):
            response = call()
            assert response.status_code != 500, (name, attempt, response.get_json())
            _assert_outage(response)
        proxy.restore()
        assert client.get("/readyz").status_code == 200, name

    assert (
        client.post(
            "/api/v1/editor/articles", json=ARTICLE, headers={**editor, "Idempotency-Key": key}
        ).status_code
        == 201
    )  # the create refused during the outage was never half-made
    assert client.get(f"/api/v1/articles/{article.slug}").get_json()["title"] == "Still here"
    titles = [
        a["title"] for a in client.get("/api/v1/editor/articles", headers=editor).get_json()["data"]
    ]
    assert sorted(titles) == ["Still here", "Written during the outage"]


def test_a_connection_cut_at_commit_is_a_503_and_the_write_is_not_made(proxied, users):
    outage_app, proxy = proxied
    client = outage_app.test_client()
    editor = auth_headers(client, users["editor"].email)
    with outage_app.app_context():
        engine = db.engine

    def cut_before_commit(_connection):
        proxy.cut()

    key = str(uuid.uuid4())
    sa.event.listen(engine, "commit", cut_before_commit)
    try:
        response = client.post(
            "/api/v1/editor/articles", json=ARTICLE, headers={**editor, "Idempotency-Key": key}
        )
    finally:
        sa.event.remove(engine, "commit", cut_before_commit)
    _assert_outage(response)
    proxy.restore()

    retried = client.post(
        "/api/v1/editor/articles", json=ARTICLE, headers={**editor, "Idempotency-Key": key}
    )
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    listed = client.get("/api/v1/editor/articles", headers=editor).get_json()["data"]
    assert [a["title"] for a in listed] == [ARTICLE["title"]]


def test_a_connection_cut_after_the_answer_was_made_keeps_the_answer(proxied, users):
    """The response cache's fill reads the database after the view: cut there, the reader still
    gets the page it was answered (not cached), and the next reader gets a 503."""
    outage_app, proxy = proxied
    article = make_article("Read as the database went away")
    db.session.commit()
    armed = []

    @outage_app.after_request
    def _cut(response):
        if armed:
            armed.clear()
            proxy.cut()
        return response

    client = outage_app.test_client()
    assert client.get("/api/v1/articles").status_code == 200  # a pooled connection
    armed.append(True)
    response = client.get(f"/api/v1/articles/{article.slug}")
    assert response.status_code == 200
    assert response.get_json()["title"] == "Read as the database went away"
    _assert_outage(client.get(f"/api/v1/articles/{article.slug}"))  # it was not cached
    proxy.restore()
    assert client.get(f"/api/v1/articles/{article.slug}").status_code == 200


def test_readyz_answers_503_until_the_database_is_back(proxied):
    outage_app, proxy = proxied
    client = outage_app.test_client()
    assert client.get("/readyz").status_code == 200
    proxy.cut()
    for _ in range(3):
        _assert_outage(client.get("/readyz"))
    proxy.restore()
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.headers["Cache-Control"] == "no-store"


def test_a_database_host_that_does_not_answer_costs_a_503_not_a_hung_worker(app, users):
    """``CMS_DATABASE_CONNECT_TIMEOUT``: a new connection that gets no answer at all (a failover
    in progress) gives up after that many seconds, and the request is a 503."""
    url = db.engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("a PostgreSQL connection timeout (set CMS_TEST_DATABASE_URL)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    silent_app = create_app(
        _config(
            app,
            SQLALCHEMY_DATABASE_URI=url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                hide_password=False
            ),
            CMS_DATABASE_CONNECT_TIMEOUT=2,
        )
    )
    client = silent_app.test_client()
    try:
        assert client.get("/readyz").status_code == 200
        proxy.cut(hang=True)
        started = time.monotonic()
        _assert_outage(client.get("/api/v1/sections"))  # the pooled connection: cut
        _assert_outage(client.get("/api/v1/sections"))  # a new one: no answer, gives up
        assert time.monotonic() - started < 10
        proxy.restore()
        assert client.get("/api/v1/sections").status_code == 200
    finally:
        proxy.close()
        with silent_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_locked_sqlite_database_answers_503_with_retry_after(app, users, tmp_path):
    """SQLite's moment of unavailability: another process holds the write lock longer than the
    busy timeout (a backup, a bulk import)."""
    path = tmp_path / "locked.sqlite3"
    sqlite_app = create_app(_config(app, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    with sqlite_app.app_context():
        engine = db.engine

        @sa.event.listens_for(engine, "connect")
        def _short_busy_timeout(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA busy_timeout=100")

        from flask_migrate import upgrade

        upgrade()
        from cms.services.accounts.users import create_user

        create_user("locked@example.org", PASSWORD, "editor")
        db.session.commit()
    client = sqlite_app.test_client()
    editor = auth_headers(client, "locked@example.org")
    other = sa.create_engine(f"sqlite:///{path}", poolclass=sa.NullPool)
    key = str(uuid.uuid4())
    try:
        with other.connect() as holder:
            holder.exec_driver_sql("BEGIN IMMEDIATE")
            response = client.post(
                "/api/v1/editor/articles",
                json=ARTICLE,
                headers={**editor, "Idempotency-Key": key},
            )
            _assert_outage(response)
            holder.exec_driver_sql("ROLLBACK")
        retried = client.post(
            "/api/v1/editor/articles",
            json=ARTICLE,
            headers={**editor, "Idempotency-Key": key},
        )
        assert retried.status_code == 201, retried.get_json()
    finally:
        other.dispose()
        with sqlite_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_an_unreachable_rate_limit_store_answers_503_with_retry_after(app, users):
    """Redis (the shared rate-limit store and response cache) going away: login, which must
    count failures, answers 503; public reads do not need it and still answer."""
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis_url = f"redis://127.0.0.1:{port}/0"
    redis_app = create_app(
        _config(
            app,
            SQLALCHEMY_DATABASE_URI=db.engine.url.render_as_string(hide_password=False),
            CMS_REDIS_URL=redis_url,
            RATELIMIT_STORAGE_URI=redis_url,
        )
    )
    make_article("Read without Redis")
    db.session.commit()
    client = redis_app.test_client()
    try:
        response = client.post(
            "/api/v1/editor/auth/login",
            json={"email": users["editor"].email, "password": PASSWORD},
        )
        _assert_outage(response)
        assert client.get("/api/v1/articles").status_code == 200
    finally:
        with redis_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_deadlock_or_a_timeout_is_not_taken_for_an_outage():
    """psycopg raises a deadlock, a serialization failure and a statement or lock timeout as
    OperationalError, like a cut connection; the server answered them, so they are errors of
    the request (a 500 with its traceback logged), not "the database is unavailable"."""
    import psycopg
    from psycopg import errors

    from cms.availability import DATABASE, unavailable_service

    def wrapped(error):
        return sa.exc.OperationalError("UPDATE tags ...", {}, error)

    answered = [
        errors.DeadlockDetected("deadlock detected"),
        errors.SerializationFailure("could not serialize access"),
        errors.QueryCanceled("canceling statement due to statement timeout"),
        errors.LockNotAvailable("canceling statement due to lock timeout"),
    ]
    for error in answered:
        assert unavailable_service(error) is None, error
        assert unavailable_service(wrapped(error)) is None, error
    outages = [
        psycopg.OperationalError("connection timeout expired"),
        psycopg.InterfaceError("the connection is closed"),
        errors.ConnectionFailure("server closed the connection unexpectedly"),
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CannotConnectNow("the database system is starting up"),
        errors.TooManyConnections("sorry, too many clients already"),
    ]
    for error in outages:
        assert unavailable_service(error) == DATABASE, error
        assert unavailable_service(wrapped(error)) == DATABASE, error
