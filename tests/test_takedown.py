"""Admin takedown: 410 with the reason on the article's own URLs, gone from every other public
surface in the same request that confirms it (response cache included), audited, reversible
by an admin only."""

from __future__ import annotations

from datetime import timedelta

import feedparser
import pytest

from tests.conftest import make_article

OWN = ("", "/summary", "/related", "/corrections")


@pytest.fixture
def world(users, clock):
    older = make_article("Older story on the harbour", published_at=clock.now - timedelta(hours=3))
    target = make_article(
        "Story under legal challenge",
        published_at=clock.now - timedelta(hours=2),
        tags=["energy", "port"],
    )
    newer = make_article("Newer story on the harbour", published_at=clock.now - timedelta(hours=1))
    return older, target, newer


def _take_down(client, headers, article_id, **body):
    return client.post(
        f"/api/v1/editor/articles/{article_id}/takedown",
        json={"reason": "legal", "note": "Court order 12/26", **body},
        headers=headers,
    )


def _public_views(client, target):
    return {suffix: client.get(f"/api/v1/articles/{target.slug}{suffix}") for suffix in OWN}


def test_takedown_answers_410_at_once_even_after_caching(client, headers, world):
    older, target, newer = world
    for _ in range(2):  # the second read is answered by the response cache
        views = _public_views(client, target)
        assert all(r.status_code == 200 for r in views.values())
    assert _take_down(client, headers["admin"], target.id).status_code == 201
    for suffix, response in _public_views(client, target).items():
        assert response.status_code == 410, suffix
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["Cache-Control"] == "no-store"
        problem = response.get_json()
        assert problem["reason"] == "legal"
        assert "Court order" not in response.get_data(as_text=True)  # the note stays private
        assert "Story under legal challenge" not in response.get_data(as_text=True)


def test_taken_down_article_leaves_every_other_public_surface(client, headers, world):
    older, target, newer = world
    surfaces = [
        "/api/v1/articles",
        "/api/v1/articles?tag=port",
        "/api/v1/search?q=legal",
        "/api/v1/feeds/rss.xml",
        "/api/v1/feeds/atom.xml",
        "/api/v1/feeds/feed.json",
        "/api/v1/sitemaps/news.xml",
        "/api/v1/sitemaps/articles-1.xml",
        f"/api/v1/articles/{older.slug}",
        f"/api/v1/articles/{newer.slug}/related",
    ]
    for url in surfaces:  # there before (and cached)
        client.get(url)
        assert target.slug in client.get(url).get_data(as_text=True), url
    assert _take_down(client, headers["admin"], target.id).status_code == 201
    for url in surfaces:
        response = client.get(url)
        assert response.status_code == 200, url
        assert target.slug not in response.get_data(as_text=True), url
    # previous/next skip it
    assert client.get(f"/api/v1/articles/{older.slug}").get_json()["next"]["slug"] == newer.slug
    assert client.get(f"/api/v1/articles/{newer.slug}").get_json()["previous"]["slug"] == (
        older.slug
    )
    tags = client.get("/api/v1/tags/port").get_json()
    assert tags["article_count"] == 0
    assert feedparser.parse(client.get("/api/v1/feeds/rss.xml").data).entries[0].title == (
        newer.title
    )


def test_takedown_is_admin_only_audited_and_reversible_by_an_admin(client, headers, world):
    _, target, _ = world
    assert _take_down(client, headers["editor"], target.id).status_code == 403
    assert _take_down(client, headers["writer"], target.id).status_code == 403
    done = _take_down(client, headers["admin"], target.id)
    body = done.get_json()
    assert body["reason"] == "legal" and body["previous_status"] == "published"
    assert _take_down(client, headers["admin"], target.id).status_code == 409  # already down

    state = client.get(f"/api/v1/editor/articles/{target.id}/takedown", headers=headers["editor"])
    assert state.status_code == 200 and state.get_json()["note"] == "Court order 12/26"
    editor_view = client.get(f"/api/v1/editor/articles/{target.id}", headers=headers["editor"])
    assert editor_view.get_json()["status"] == "taken_down"
    # No workflow action or delete brings it back or removes it; only the admin's revoke.
    etag = editor_view.headers["ETag"]
    for action in ("publish", "unpublish", "archive", "restore-draft"):
        response = client.post(
            f"/api/v1/editor/articles/{target.id}/{action}",
            headers={**headers["admin"], "If-Match": etag},
        )
        assert response.status_code == 409, action
    assert (
        client.delete(f"/api/v1/editor/articles/{target.id}", headers=headers["admin"]).status_code
        == 409
    )

    revoke = f"/api/v1/editor/articles/{target.id}/takedown/revoke"
    assert client.post(revoke, headers=headers["editor"]).status_code == 403
    assert client.get(f"/api/v1/articles/{target.slug}").status_code == 410
    undone = client.post(revoke, headers=headers["admin"])
    assert undone.status_code == 200
    assert undone.get_json()["revoked_at"] is not None
    assert client.get(f"/api/v1/articles/{target.slug}").status_code == 200
    assert client.post(revoke, headers=headers["admin"]).status_code == 409
    assert (
        client.get(
            f"/api/v1/editor/articles/{target.id}/takedown", headers=headers["editor"]
        ).status_code
        == 404
    )

    audit = client.get(
        f"/api/v1/editor/audit?resource_type=article&resource_id={target.id}",
        headers=headers["admin"],
    ).get_json()["data"]
    actions = [event["action"] for event in audit]
    assert actions[:2] == ["article.takedown.revoke", "article.takedown"]
    assert audit[1]["detail"]["reason"] == "legal"
    assert audit[1]["detail"]["note"] == "Court order 12/26"


@pytest.mark.parametrize("status", ["draft", "in_review", "archived"])
def test_takedown_of_an_unpublished_article_is_409(client, headers, users, status):
    article = make_article(f"An article that is {status}", status=status)
    response = _take_down(client, headers["admin"], article.id)
    assert response.status_code == 409
    assert response.get_json()["current_status"] == status


def test_takedown_input_is_checked(client, headers, world):
    _, target, _ = world
    for body, field in (
        ({"reason": "boring"}, "reason"),
        ({"reason": None}, "reason"),
        ({"colour": "red"}, "colour"),
    ):
        response = client.post(
            f"/api/v1/editor/articles/{target.id}/takedown", json=body, headers=headers["admin"]
        )
        assert response.status_code == 422
        assert field in response.get_json()["errors"]
    stale = _take_down(client, {**headers["admin"], "If-Match": '"a1-v0"'}, target.id)
    assert stale.status_code == 412
    assert client.get(f"/api/v1/articles/{target.slug}").status_code == 200


def test_scheduled_article_taken_down_never_goes_live(client, headers, users, clock):
    article = make_article(
        "Embargoed report", status="scheduled", published_at=clock.now + timedelta(hours=1)
    )
    assert _take_down(client, headers["admin"], article.id, reason="expired").status_code == 201
    clock.advance(hours=2)
    response = client.get(f"/api/v1/articles/{article.slug}")
    assert response.status_code == 410
    assert response.get_json()["reason"] == "expired"
    assert client.get("/api/v1/articles").get_json()["data"] == []


def test_old_slug_of_a_taken_down_article_answers_410(client, headers, world):
    _, target, _ = world
    etag = client.get(f"/api/v1/editor/articles/{target.id}", headers=headers["admin"]).headers[
        "ETag"
    ]
    renamed = client.patch(
        f"/api/v1/editor/articles/{target.id}",
        json={"slug": "renamed-story"},
        headers={**headers["admin"], "If-Match": etag},
    )
    assert renamed.status_code == 200
    _take_down(client, headers["admin"], target.id)
    assert client.get(f"/api/v1/articles/{target.slug}").status_code == 410
    assert client.get("/api/v1/articles/renamed-story").status_code == 410


def test_curated_links_to_a_taken_down_article_disappear(client, headers, world):
    older, target, newer = world
    linked = client.put(
        f"/api/v1/editor/articles/{older.id}/related",
        json={"links": [{"article_id": target.id, "label": "Background"}]},
        headers=headers["editor"],
    )
    assert linked.status_code == 200
    url = f"/api/v1/articles/{older.slug}/related?limit=20"
    curated = [i for i in client.get(url).get_json()["related"] if i["kind"] == "curated"]
    assert [i["article"]["slug"] for i in curated] == [target.slug]
    _take_down(client, headers["admin"], target.id)
    related = client.get(url).get_json()
    assert target.slug not in str(related)
    assert all(i["kind"] != "curated" for i in related["related"])
