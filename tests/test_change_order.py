"""The change feed is gap-free when transactions commit out of the order they began in.

Two writers in two database sessions: the first begins, writes its change and holds it; the
second begins later and commits first; then the first commits. A consumer that reads the feed
between the two commits and follows its cursor sees both events exactly once. (With events
numbered when written, the first writer's event would carry the lower number, committed after
the consumer had moved past it: an ``ORDER BY id`` cursor skips it.) On SQLite writers cannot
overlap at all, so this is a PostgreSQL test."""

from __future__ import annotations

import threading

import pytest

from cms.extensions import db
from cms.models import Article
from cms.services.workflow import publishing
from tests.conftest import make_article


@pytest.fixture
def postgres_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")


def _feed_after(client, cursor):
    page = client.get("/api/v1/changes" + (f"?cursor={cursor}" if cursor else "")).get_json()
    return page["data"], page["meta"]["next_cursor"]


def test_out_of_order_commits_are_each_seen_once(app, client, users, postgres_only):
    # Apart in every counted vocabulary: publishing in one section updates its article count,
    # whose row lock would make the second writer wait for the first.
    body = [{"type": "paragraph", "text": "A short story.", "attribution": None}]
    first = make_article("Begins first, commits last", status="draft", body=body)
    second = make_article(
        "Begins second, commits first",
        status="draft",
        body=body,
        section="sport",
        tags=["port"],
        sources=["reuters"],
    )
    editor = users["editor"]
    first_id, second_id = first.id, second.id
    written = threading.Event()
    release = threading.Event()
    errors = []

    def first_writer():
        with app.app_context():
            try:
                article = db.session.get(Article, first_id)
                publishing.perform(
                    article,
                    "publish",
                    actor=db.session.get(type(editor), editor.id),
                    expected_version=article.version,
                )
                db.session.flush()  # the change is written, in an open transaction
                written.set()
                release.wait(20)
                db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                written.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert written.wait(20)
    assert not errors, errors

    with app.app_context():  # the second writer: its own session and connection
        article = db.session.get(Article, second_id)
        publishing.perform(
            article,
            "publish",
            actor=db.session.get(type(editor), editor.id),
            expected_version=article.version,
        )
        db.session.commit()
        db.session.remove()

    seen, cursor = _feed_after(client, None)  # a consumer reads between the two commits
    assert [e["article"]["id"] for e in seen] == [second_id]

    release.set()
    thread.join(20)
    assert not errors, errors

    more, cursor = _feed_after(client, cursor)
    seen += more
    again, _ = _feed_after(client, cursor)
    assert again == []
    assert sorted((e["type"], e["article"]["id"]) for e in seen) == sorted(
        [("article.published", first_id), ("article.published", second_id)]
    )
    assert [e["article"]["id"] for e in seen] == [second_id, first_id]  # commit order
    assert len({e["id"] for e in seen}) == 2
