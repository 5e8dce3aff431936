"""Test setup: one app per run on a fresh database (SQLite by default, PostgreSQL when
``CMS_TEST_DATABASE_URL`` is set), built by the Alembic migrations; tables emptied after each
test. Helpers create content through the same services the API uses."""

from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from cms import create_app
from cms.clock import set_clock, utcnow
from cms.extensions import db, limiter
from cms.models import Author, Section, Source, Tag, User
from cms.services.accounts.users import create_user
from cms.services.content import articles as article_service
from cms.services.derived import jobs as derived_jobs
from cms.services.workflow import publishing
from tests.databases import throwaway_database
from tests.receiver import Receiver

PASSWORD = "correct horse battery staple"


def _database_url(tmpdir: str):
    """A fresh database for this run, and a function that drops it."""
    base = os.environ.get("CMS_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmpdir}/test.sqlite3", lambda: None
    return throwaway_database(base, "cms_test")


@pytest.fixture(scope="session")
def app():
    tmpdir = tempfile.mkdtemp(prefix="cms-test-")
    url, drop = _database_url(tmpdir)
    os.environ["CMS_INSTANCE_PATH"] = tmpdir
    application = create_app(
        {
            "CMS_ENV": "testing",
            "TESTING": True,
            "CMS_PASSWORD_HASH_PROFILE": "test",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "JWT_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture(autouse=True)
def _clean(app):
    """Each test starts from empty tables, the system clock and fresh rate limits."""
    ctx = app.app_context()
    ctx.push()
    limiter.reset()
    yield
    set_clock(None)
    empty_tables()
    db.session.remove()
    ctx.pop()


def empty_tables() -> None:
    """Delete every row but the content generation's (emptying a counter would reuse values)."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):
        if table.name != "content_generation":
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


class Clock:
    """The tests' one clock: the application's time stands still until ``clock.advance(hours=2)``
    (or ``clock.now = when``). Tests and helpers read the time from ``cms.clock.utcnow`` (the
    system clock when no test clock is set), never from ``datetime.now``."""

    def __init__(self, start: datetime):
        self.now = start
        set_clock(lambda: self.now)

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock():
    return Clock(utcnow().replace(microsecond=0))


@pytest.fixture
def ago(clock):
    """``ago(hours=3)``: that long before the test clock's now."""
    return lambda **kw: clock.now - timedelta(**kw)


# --- content helpers --------------------------------------------------------------------------


@pytest.fixture
def taxonomy():
    add_taxonomy()


def add_taxonomy() -> None:
    """A small vocabulary: sections news/sport, tags, sources, authors."""
    for slug, name in (("news", "News"), ("sport", "Sport")):
        db.session.add(Section(slug=slug, name=name, description=""))
    for slug in ("energy", "port", "secret-merger"):
        db.session.add(Tag(slug=slug, name=slug.title()))
    db.session.add(
        Source(
            slug="handelsblatt",
            name="Handelsblatt",
            url="https://www.handelsblatt.com",
            kind="newspaper",
        )
    )
    db.session.add(
        Source(slug="reuters", name="Reuters", url="https://www.reuters.com", kind="agency")
    )
    for slug, name in (("ana-writer", "Ana Writer"), ("ed-itor", "Ed Itor")):
        db.session.add(Author(slug=slug, name=name, bio="Reporter."))
    db.session.commit()


def make_user(role: str, email: str | None = None, author: str | None = None) -> User:
    user = create_user(
        email or f"{role}-{uuid.uuid4().hex[:6]}@example.org", PASSWORD, role, author=author
    )
    db.session.commit()
    return user


def make_users() -> dict[str, User]:
    """The newsroom's people by role: admin, editor, writer and a second writer."""
    return {
        "admin": make_user("admin", "admin@example.org"),
        "editor": make_user("editor", "editor@example.org", author="ed-itor"),
        "writer": make_user("writer", "writer@example.org", author="ana-writer"),
        "writer2": make_user("writer", "other-writer@example.org"),
    }


@pytest.fixture
def users(taxonomy):
    return make_users()


# --- logging in: the one way tests get a token and its Authorization header --------------------


def login(client, email: str, password: str = PASSWORD) -> dict:
    """Log in through the API; its tokens (``access_token``, ``refresh_token``)."""
    response = client.post("/api/v1/editor/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def auth_headers(client, email: str, password: str = PASSWORD) -> dict:
    """The Authorization header of a fresh login of ``email``."""
    return bearer(login(client, email, password)["access_token"])


def role_headers(client, users: dict[str, User]) -> dict[str, dict]:
    """``{role: Authorization header}`` of fresh logins of ``users``."""
    return {role: auth_headers(client, user.email) for role, user in users.items()}


@pytest.fixture
def headers(client, users):
    """``headers["editor"]`` etc.: Authorization headers of freshly logged-in users."""
    return role_headers(client, users)


BODY = [
    {
        "type": "paragraph",
        "text": "The port of Westerhaven handled a record 4.2 million containers last year, "
        "the port authority said on Monday. Officials expect further growth.",
        "attribution": {"source": "handelsblatt"},
    },
    {"type": "heading", "text": "Why it matters", "level": 2},
    {
        "type": "paragraph",
        "text": "Dockworkers warned that the <b>pace of automation</b> threatens jobs. "
        "Their union plans a ballot in spring. Talks resume next week.",
        "attribution": {"source": "reuters"},
    },
    {
        "type": "quote",
        "text": "We will not be left behind.",
        "cite": "Union leader",
        "attribution": None,
    },
    {
        "type": "list",
        "ordered": False,
        "items": ["Record volume", "Automation plans"],
        "attribution": None,
    },
    {
        "type": "paragraph",
        "text": "Shipping lines have added three new routes to Asia. Analysts see more traffic. "
        "The city plans to dredge the channel by 2028.",
        "attribution": None,
    },
]


def drain(app) -> str:
    """Run the worker's pending derived-data jobs through the CLI; its output."""
    result = app.test_cli_runner().invoke(args=["derived", "run-pending"])
    assert result.exit_code == 0, result.output
    return result.output


def make_article(
    title: str = "Port handles record volume",
    *,
    status: str = "published",
    published_at: datetime | None = None,
    author: User | None = None,
    **fields,
):
    """Create an article through the services and move it to ``status``."""
    actor = author or db.session.scalar(sa.select(User).where(User.role == "admin"))
    if actor is None:
        actor = make_user("admin")
    data = {
        "title": title,
        "body": fields.pop("body", BODY),
        "section": "news",
        "tags": ["energy"],
        "sources": ["handelsblatt"],
        **fields,
    }
    article = article_service.create_article(data, actor=actor)
    db.session.flush()
    editor = actor if actor.role != "writer" else make_user("editor")
    if status == "in_review":
        publishing.perform(article, "submit", actor=actor, expected_version=article.version)
    elif status in ("published", "scheduled", "archived"):
        when = published_at or utcnow() - timedelta(hours=1)
        publishing.perform(
            article, "publish", actor=editor, expected_version=article.version, publish_at=when
        )
        if when <= utcnow():
            article.published_at = article.first_published_at = when
        if status == "archived":
            db.session.flush()
            publishing.perform(article, "archive", actor=editor, expected_version=article.version)
    db.session.commit()
    # Fixtures stand for a settled site: the worker's derived data (other articles'
    # suggestion lists) are complete.
    derived_jobs.run_pending()
    return article


@contextmanager
def recorded_statements():
    """``with recorded_statements() as issued:`` lists the SQL sent to the database meanwhile
    (empty when the answer came from the response cache): through SQLAlchemy's execution, and
    compiled once on a pooled connection (``cms.services.public.compiled``, which SQLAlchemy's
    events do not see)."""
    from cms.services.public import compiled

    issued: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        issued.append(statement)

    run = compiled._Compiled.run

    def recorded_run(self, cursor, params, **options):
        issued.append(self.sql)
        return run(self, cursor, params, **options)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    compiled._Compiled.run = recorded_run
    try:
        yield issued
    finally:
        compiled._Compiled.run = run
        sa.event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def receivers():
    """``receivers(...)`` starts a webhook receiver on 127.0.0.1 (``tests.receiver``); all are
    closed after the test."""
    made = []

    def make(*args, **kwargs):
        r = Receiver(*args, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
