"""§7 events and the change feed: every event type through the editor API, filters with
removals, scheduled publication once, retention, cache tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article, Event
from cms.services import events
from cms.text import rfc3339
from tests.conftest import BODY, make_article


def _etag(client, article_id, headers):
    return client.get(f"/api/v1/editor/articles/{article_id}", headers=headers).headers["ETag"]


def _create(client, headers, title="Harbour ferry timetable changes", **fields):
    body = {"title": title, "section": "news", "tags": ["port"], "body": BODY[:2], **fields}
    response = client.post("/api/v1/editor/articles", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _action(client, headers, article_id, action, **body):
    response = client.post(
        f"/api/v1/editor/articles/{article_id}/{action}",
        json=body,
        headers={**headers, "If-Match": _etag(client, article_id, headers)},
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _patch(client, headers, article_id, **body):
    response = client.patch(
        f"/api/v1/editor/articles/{article_id}",
        json=body,
        headers={**headers, "If-Match": _etag(client, article_id, headers)},
    )
    assert response.status_code == 200, response.get_json()


def _feed(client, query=""):
    """Every event after following cursors from the start, and the last cursor."""
    seen, cursor = [], None
    for _ in range(100):
        url = "/api/v1/changes?limit=2" + (f"&cursor={cursor}" if cursor else "") + query
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        seen += page["data"]
        cursor = page["meta"]["next_cursor"]
        if not page["meta"]["has_more"]:
            return seen, cursor
    raise AssertionError("the feed did not end")


def _types(items):
    return [(e["type"], e["article"]["id"]) for e in items]


def test_article_lifecycle_emits_each_event_once_in_order(client, headers):
    editor = headers["editor"]
    article_id = _create(client, editor)
    _patch(client, editor, article_id, subtitle="A draft edit: no public event")
    assert _feed(client)[0] == []  # drafts produce nothing

    _action(client, editor, article_id, "publish")
    _patch(client, editor, article_id, title="Harbour ferry timetable changes from Monday")
    _patch(client, editor, article_id, slug="ferry-timetable")
    _action(client, editor, article_id, "archive")

    items, _ = _feed(client)
    assert _types(items) == [
        ("article.published", article_id),
        ("article.updated", article_id),
        ("article.updated", article_id),
        ("article.unpublished", article_id),
    ]
    assert [e["sequence"] for e in items] == sorted(e["sequence"] for e in items)
    published = items[0]
    assert published["article"]["slug"] == "harbour-ferry-timetable-changes"
    assert published["article"]["section"] == {"slug": "news", "name": "News"}
    assert published["article"]["tags"] == [{"slug": "port", "name": "Port"}]
    assert published["article"]["published_at"].endswith("Z")
    assert published["cache_tags"] == [f"article:{article_id}", "section:news", "tag:port", "list"]
    assert items[2]["article"]["previous_slug"] == "harbour-ferry-timetable-changes"
    assert items[2]["article"]["slug"] == "ferry-timetable"
    assert items[3]["article"] == {"id": article_id, "slug": "ferry-timetable"}
    assert items[3]["reason"] == "archived"
    assert len({e["id"] for e in items}) == 4


def test_summary_related_and_taxonomy_rename_are_updates(client, headers):
    editor = headers["editor"]
    article = make_article("Port handles record volume")
    other = make_article("Ferry fares frozen")
    _, cursor = _feed(client)

    response = client.put(
        f"/api/v1/editor/articles/{article.id}/summary",
        json={"tldr": "The port had a record year.", "key_points": []},
        headers=editor,
    )
    assert response.status_code == 200, response.get_json()
    response = client.put(
        f"/api/v1/editor/articles/{article.id}/related",
        json={"links": [{"article_id": other.id, "label": "Fares"}]},
        headers=editor,
    )
    assert response.status_code == 200, response.get_json()
    response = client.patch(
        "/api/v1/editor/tags/energy", json={"name": "Energy & power"}, headers=editor
    )
    assert response.status_code == 200, response.get_json()

    page = client.get(f"/api/v1/changes?cursor={cursor}").get_json()
    assert _types(page["data"]) == [
        ("article.updated", article.id),
        ("article.updated", article.id),
        # the rename shows in both articles' tags
        ("article.updated", article.id),
        ("article.updated", other.id),
    ]
    assert page["data"][-1]["article"]["tags"] == [{"slug": "energy", "name": "Energy & power"}]


def test_unpublish_and_delete_carry_reasons(client, headers):
    editor = headers["editor"]
    first = make_article("One")
    second = make_article("Two")
    _, cursor = _feed(client)
    _action(client, editor, first.id, "unpublish")
    second_id = second.id
    response = client.delete(f"/api/v1/editor/articles/{second_id}", headers=editor)
    assert response.status_code == 204
    items = client.get(f"/api/v1/changes?cursor={cursor}").get_json()["data"]
    assert [(e["type"], e["reason"]) for e in items] == [
        ("article.unpublished", "unpublished"),
        ("article.unpublished", "deleted"),
    ]
    assert items[1]["article"] == {"id": second_id, "slug": "two"}
    assert "section:news" in items[1]["cache_tags"]


def test_record_corrected_replaces_the_update_and_takedown_reason(users):
    article = make_article("Council vote")
    events.record(db.session, "article.corrected", article)
    article.updated_at = article.updated_at + timedelta(minutes=1)
    db.session.commit()
    events.record(db.session, "article.unpublished", article, reason="legal")
    article.status = "archived"
    db.session.commit()
    rows = db.session.scalars(sa.select(Event).order_by(Event.sequence)).all()
    assert [(r.type, r.reason) for r in rows] == [
        ("article.published", None),
        ("article.corrected", None),
        ("article.unpublished", "legal"),
    ]
    with pytest.raises(ValueError):
        events.record(db.session, "article.published", article)


def test_scheduled_article_is_published_once_when_its_time_comes(client, headers, clock):
    editor = headers["editor"]
    article_id = _create(client, editor)
    when = clock.now + timedelta(minutes=30)
    _action(client, editor, article_id, "publish", publish_at=when.isoformat())
    _patch(client, editor, article_id, subtitle="Edited while scheduled: not public yet")
    assert events.publish_due(db.session) == 0
    db.session.commit()
    assert _feed(client)[0] == []

    clock.advance(minutes=31)  # the worker was down at the moment; it catches up now
    assert events.publish_due(db.session) == 1
    db.session.commit()
    assert events.publish_due(db.session) == 0  # announced: nothing due any more
    db.session.commit()
    items, _ = _feed(client)
    assert _types(items) == [("article.published", article_id)]
    assert items[0]["occurred_at"] == rfc3339(when)


def _scheduled_and_due(client, editor, clock) -> int:
    """An article scheduled 5 minutes ahead, then the clock moved past its time (the worker
    has not looked yet); its id."""
    article_id = _create(client, editor)
    _action(
        client,
        editor,
        article_id,
        "publish",
        publish_at=(clock.now + timedelta(minutes=5)).isoformat(),
    )
    clock.advance(minutes=6)
    return article_id


def test_edit_of_a_due_scheduled_article_publishes_it_once(client, headers, clock):
    editor = headers["editor"]
    article_id = _scheduled_and_due(client, editor, clock)
    _patch(client, editor, article_id, subtitle="Its time came before the worker looked")
    events.publish_due(db.session)
    db.session.commit()
    assert _types(_feed(client)[0]) == [("article.published", article_id)]


def test_section_filter_includes_removals(client, headers):
    editor = headers["editor"]
    article_id = _create(client, editor)
    _action(client, editor, article_id, "publish")
    _patch(client, editor, article_id, section="sport")

    news, _ = _feed(client, "&section=news")
    sport, _ = _feed(client, "&section=sport")
    everything, _ = _feed(client)
    assert _types(everything) == [
        ("article.published", article_id),
        ("article.updated", article_id),
    ]
    assert _types(news) == [
        ("article.published", article_id),
        ("article.unpublished", article_id),
    ]
    assert news[1]["reason"] == "moved"
    assert news[1]["article"] == {"id": article_id, "slug": "harbour-ferry-timetable-changes"}
    assert _types(sport) == [("article.published", article_id)]  # new to the sport feed
    assert set(everything[1]["cache_tags"]) >= {"section:news", "section:sport"}


def test_tag_and_type_filters(client, headers):
    editor = headers["editor"]
    article_id = _create(client, editor, tags=["port", "energy"])
    _action(client, editor, article_id, "publish")
    _patch(client, editor, article_id, tags=["port"])
    _action(client, editor, article_id, "unpublish")

    energy, _ = _feed(client, "&tag=energy")
    assert _types(energy) == [
        ("article.published", article_id),
        ("article.unpublished", article_id),  # the tag was removed: gone from its feed
    ]
    port, _ = _feed(client, "&tag=port")
    assert [e["type"] for e in port] == [
        "article.published",
        "article.updated",
        "article.unpublished",
    ]
    removed, _ = _feed(client, "&tag=energy&type=article.unpublished")
    assert [e["reason"] for e in removed] == ["moved"]
    both, _ = _feed(client, "&section=news&tag=port&type=article.published,article.updated")
    assert [e["type"] for e in both] == ["article.published", "article.updated"]


def test_feed_query_errors_are_400(client, users):
    for query, field in (
        ("type=article.deleted", "type"),
        ("limit=101", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("colour=red", "colour"),
    ):
        response = client.get(f"/api/v1/changes?{query}")
        assert response.status_code == 400, query
        assert field in response.get_json()["errors"]


def test_latest_cursor_then_follow(client, users):
    make_article("Before the crawl")
    latest = client.get("/api/v1/changes/latest")
    assert latest.status_code == 200
    assert latest.headers["Cache-Control"].startswith("public")
    cursor = latest.get_json()["cursor"]
    make_article("After the crawl")
    page = client.get(f"/api/v1/changes?cursor={cursor}").get_json()
    assert [e["article"]["slug"] for e in page["data"]] == ["after-the-crawl"]
    again = client.get(f"/api/v1/changes?cursor={page['meta']['next_cursor']}").get_json()
    assert again["data"] == [] and again["meta"]["has_more"] is False


def test_cursor_older_than_retention_is_410(app, client, users, clock):
    make_article("Old news")
    cursor = client.get("/api/v1/changes/latest").get_json()["cursor"]
    start = client.get("/api/v1/changes").get_json()["meta"]["next_cursor"]
    assert start == cursor
    from_zero = client.get("/api/v1/changes?limit=1").get_json()
    make_article("Newer news")
    clock.advance(days=91)
    make_article("Today's news")

    expired = client.get(f"/api/v1/changes?cursor={cursor}")
    assert expired.status_code == 410
    assert expired.headers["Content-Type"] == "application/problem+json"
    assert "re-crawl" in expired.get_json()["detail"]
    # without a cursor: what is kept
    kept = client.get("/api/v1/changes").get_json()["data"]
    assert [e["article"]["slug"] for e in kept] == ["today-s-news"]
    assert from_zero["data"][0]["article"]["slug"] == "old-news"

    app.config["CMS_CHANGES_RETENTION_DAYS"] = 365
    try:
        assert client.get(f"/api/v1/changes?cursor={cursor}").status_code == 200
    finally:
        app.config["CMS_CHANGES_RETENTION_DAYS"] = 90


def test_retention_setting_through_the_purge_command(app, users, clock, monkeypatch):
    from cms import create_app

    make_article("Old news")
    clock.advance(days=11)
    make_article("Recent news")
    monkeypatch.setenv("CMS_CHANGES_RETENTION_DAYS", "10")
    configured = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert configured.config["CMS_CHANGES_RETENTION_DAYS"] == 10
    # The test's app context is active, so the command runs in it: give it the same setting.
    monkeypatch.setitem(app.config, "CMS_CHANGES_RETENTION_DAYS", 10)
    result = app.test_cli_runner().invoke(args=["events", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 events." in result.output
    db.session.expire_all()
    assert [e.article["slug"] for e in db.session.scalars(sa.select(Event))] == ["recent-news"]


def test_public_responses_carry_cache_tags(client, users):
    article = make_article("Port handles record volume")
    detail = client.get(f"/api/v1/articles/{article.slug}")
    assert detail.headers["Cache-Tag"] == f"article:{article.id},section:news"
    assert detail.headers["Surrogate-Key"] == f"article:{article.id} section:news"
    listing = client.get("/api/v1/articles?section=news&tag=energy")
    assert listing.headers["Cache-Tag"] == "list,section:news,tag:energy"
    assert client.get("/api/v1/sections").headers["Cache-Tag"] == "list"
    summary = client.get(f"/api/v1/articles/{article.slug}/summary")
    assert summary.headers["Cache-Tag"] == f"article:{article.id}"
    # served again from the response cache: the same headers
    again = client.get(f"/api/v1/articles/{article.slug}")
    assert again.headers["Cache-Tag"] == f"article:{article.id},section:news"
    missing = client.get("/api/v1/articles/no-such-article")
    assert "Cache-Tag" not in missing.headers


def test_drafts_scheduled_and_archived_never_reach_the_feed(client, users, clock):
    make_article("A draft", status="draft")
    make_article("In review", status="in_review")
    make_article("Later", status="scheduled", published_at=clock.now + timedelta(days=1))
    make_article("Archived", status="archived")
    items, _ = _feed(client)
    # the archived one was published and archived in one commit: never public, no event
    assert items == []


def test_corrections_and_takedowns_emit_their_events(client, headers):
    editor, admin = headers["editor"], headers["admin"]
    article_id = _create(client, editor, title="Harbour crane contract signed")
    _action(client, editor, article_id, "publish")

    response = client.post(
        f"/api/v1/editor/articles/{article_id}/corrections",
        json={"kind": "correction", "text": "The contract is worth 12 million euros, not 21."},
        headers=editor,
    )
    assert response.status_code == 201, response.get_json()
    correction_id = response.get_json()["id"]
    response = client.post(
        f"/api/v1/editor/articles/{article_id}/corrections/{correction_id}/hide",
        json={"reason": "Entered on the wrong article."},
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    response = client.post(
        f"/api/v1/editor/articles/{article_id}/takedown",
        json={"reason": "legal", "note": "Court order 4 O 12/26"},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    response = client.post(
        f"/api/v1/editor/articles/{article_id}/takedown/revoke", json={}, headers=admin
    )
    assert response.status_code == 200, response.get_json()

    items, _ = _feed(client)
    assert _types(items) == [
        ("article.published", article_id),
        ("article.corrected", article_id),
        ("article.updated", article_id),  # the hidden correction left the detail
        ("article.unpublished", article_id),
        ("article.published", article_id),
    ]
    assert items[3]["reason"] == "legal"
    assert "Court order" not in str(items)  # the note stays private


def test_a_claimed_state_keeps_its_fingerprint_and_republishing_is_announced_once(client, headers):
    """A publication claims the article's state without reading it first and stores its
    fingerprint with the event: a later commit that changes nothing public says nothing, a
    publication after an unpublication is announced once, and a real change is an update."""
    editor = headers["editor"]
    article_id = _create(client, editor)
    _action(client, editor, article_id, "publish")
    events.log.touch(db.session, [article_id])  # compared again, nothing public changed
    db.session.commit()
    _action(client, editor, article_id, "unpublish")
    _action(client, editor, article_id, "publish")
    events.log.touch(db.session, [article_id])
    db.session.commit()
    _patch(client, editor, article_id, title="Harbour ferry timetable changes from Monday")
    assert _types(_feed(client)[0]) == [
        ("article.published", article_id),
        ("article.unpublished", article_id),
        ("article.published", article_id),
        ("article.updated", article_id),
    ]


def test_a_status_change_of_a_visible_article_is_compared_not_announced(client, headers, clock):
    """An article whose status changes but stays public (a due scheduled article recorded as
    published) has a visible state already: the claim leaves it, the comparison finds nothing
    to say."""
    editor = headers["editor"]
    article_id = _scheduled_and_due(client, editor, clock)
    assert events.publish_due(db.session) == 1
    db.session.commit()
    article = db.session.get(Article, article_id)
    article.status = "published"
    db.session.commit()
    assert _types(_feed(client)[0]) == [("article.published", article_id)]


def test_sequences_continue_across_commits_and_follow_the_generation_row(client, headers):
    """Event sequences are reserved on the content generation row by the bump itself."""
    editor = headers["editor"]
    first, second = _create(client, editor), _create(client, editor, title="Second story")
    _action(client, editor, first, "publish")
    _action(client, editor, second, "publish")
    items, _ = _feed(client)
    row = db.session.execute(sa.text("SELECT event_sequence FROM content_generation")).one()
    assert [e["sequence"] for e in items] == [row[0] - 1, row[0]]


def _hours_ago(hours: int) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def test_detail_names_its_previous_and_next_so_their_purge_reaches_it(client, headers):
    """§7 cache tags name what a response shows: the detail shows its neighbours' slugs and
    titles, so the event of a neighbour's change purges the detail too."""
    editor = headers["editor"]
    older = make_article("Older story", published_at=_hours_ago(3))
    middle = make_article("Middle story", published_at=_hours_ago(2))
    newer = make_article("Newer story", published_at=_hours_ago(1))
    db.session.commit()
    detail = client.get(f"/api/v1/articles/{middle.slug}")
    assert detail.headers["Cache-Tag"] == (
        f"article:{middle.id},article:{older.id},article:{newer.id},section:news"
    )
    assert detail.headers["Surrogate-Key"].split() == detail.headers["Cache-Tag"].split(",")
    _patch(client, editor, newer.id, title="Newer story, retitled")
    updated = [e for e in _feed(client)[0] if e["article"]["id"] == newer.id][-1]
    assert updated["type"] == "article.updated"
    assert set(updated["cache_tags"]) & set(detail.headers["Cache-Tag"].split(","))
    again = client.get(f"/api/v1/articles/{middle.slug}").get_json()
    assert again["next"]["title"] == "Newer story, retitled"
    # the newest article has no next: only its previous is named
    newest = client.get(f"/api/v1/articles/{newer.slug}")
    assert newest.headers["Cache-Tag"] == f"article:{newer.id},article:{middle.id},section:news"
    related = client.get(f"/api/v1/articles/{middle.slug}/related")
    assert related.headers["Cache-Tag"] == (
        f"article:{middle.id},article:{older.id},article:{newer.id}"
    )


def test_one_commit_publishing_articles_with_and_without_loaded_parts(client, headers, clock):
    """Two articles published in one commit, one with its summary, curated links and
    corrections loaded in the session and one without: each is announced once (the claim's
    rows for the first must not be taken for parts of the second)."""
    editor = headers["editor"]
    ids = [_create(client, editor, title=title) for title in ("Ferry one", "Ferry two")]
    loaded, unloaded = (db.session.get(Article, i) for i in ids)
    _ = loaded.summary, loaded.related_links, loaded.corrections
    for article in (loaded, unloaded):
        article.status = "published"
        article.published_at = article.first_published_at = clock.now - timedelta(minutes=1)
    db.session.commit()
    assert sorted(_types(_feed(client)[0])) == [("article.published", i) for i in sorted(ids)]
