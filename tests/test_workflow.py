"""The editorial workflow over HTTP: every action from every status, scheduling, unpublishing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cms.text import rfc3339
from tests.conftest import make_article

API = "/api/v1/editor/articles"
PUBLIC = "/api/v1/articles"

ACTIONS = ("submit", "publish", "unpublish", "archive", "restore-draft")
# What the contract allows from each status (§5, §6a), and where each action leads.
ALLOWED = {
    "draft": {"submit", "publish"},
    "in_review": {"publish", "restore-draft"},
    "scheduled": {"publish", "unpublish"},
    "published": {"unpublish", "archive"},
    "archived": {"restore-draft"},
}
RESULT = {
    "submit": "in_review",
    "publish": "published",
    "unpublish": "draft",
    "archive": "archived",
    "restore-draft": "draft",
}


def _article_in(status: str, now: datetime):
    when = now + timedelta(days=1) if status == "scheduled" else None
    return make_article(f"A {status} story", status=status, published_at=when)


def _etag(client, article_id: int, headers: dict) -> str:
    return client.get(f"{API}/{article_id}", headers=headers).headers["ETag"]


def _act(client, article_id: int, action: str, headers: dict, body: dict | None = None,
         etag: str | None = None):
    etag = etag or _etag(client, article_id, headers)
    return client.post(f"{API}/{article_id}/{action}", json=body,
                       headers={**headers, "If-Match": etag})


def _public_slugs(client) -> set[str]:
    return {item["slug"] for item in client.get(PUBLIC).get_json()["data"]}


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_from_every_status(client, users, headers, clock, status, action):
    article = _article_in(status, clock.now)
    before = client.get(f"{API}/{article.id}", headers=headers["editor"])
    assert before.get_json()["status"] == status
    response = _act(client, article.id, action, headers["editor"], etag=before.headers["ETag"])

    if action in ALLOWED[status]:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == RESULT[action]
        assert response.headers["ETag"] != before.headers["ETag"]
        after = client.get(f"{API}/{article.id}", headers=headers["editor"]).get_json()
        assert after["status"] == RESULT[action]
    else:
        assert response.status_code == 409, response.get_json()
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert set(problem["allowed_actions"]) == ALLOWED[status]
        assert problem["status"] == 409
        assert status in problem["detail"]
        # Nothing changed.
        after = client.get(f"{API}/{article.id}", headers=headers["editor"])
        assert after.get_json()["status"] == status
        assert after.headers["ETag"] == before.headers["ETag"]


def test_actions_need_a_precondition(client, users, headers):
    article = make_article("Draft story", status="draft")
    url = f"{API}/{article.id}/submit"
    missing = client.post(url, headers=headers["editor"])
    assert missing.status_code == 428
    assert missing.mimetype == "application/problem+json"
    stale = client.post(url, headers={**headers["editor"], "If-Match": '"a1-v999"'})
    assert stale.status_code == 412
    by_version = client.post(url, json={"version": article.version}, headers=headers["editor"])
    assert by_version.status_code == 200
    assert by_version.get_json()["status"] == "in_review"


def test_action_bodies_are_strict(client, users, headers):
    article = make_article("Draft story", status="draft")
    response = _act(client, article.id, "submit", headers["editor"], body={"note": "please"})
    assert response.status_code == 422
    assert "note" in response.get_json()["errors"]
    bad_time = _act(client, article.id, "publish", headers["editor"],
                    body={"publish_at": "next tuesday"})
    assert bad_time.status_code == 422
    assert "publish_at" in bad_time.get_json()["errors"]
    naive = _act(client, article.id, "publish", headers["editor"],
                 body={"publish_at": "2030-01-01T10:00:00"})
    assert naive.status_code == 422


def test_writer_submits_and_withdraws_own_draft(client, users, headers):
    article = make_article("Writer's story", status="draft", author=users["writer"])
    submitted = _act(client, article.id, "submit", headers["writer"])
    assert submitted.status_code == 200
    assert submitted.get_json()["status"] == "in_review"
    withdrawn = _act(client, article.id, "restore-draft", headers["writer"])
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["status"] == "draft"


# --- scheduling -------------------------------------------------------------------------------


def test_scheduled_publish_goes_live_when_the_clock_passes(client, users, headers, clock):
    article = make_article("Budget vote preview", status="in_review")
    when = clock.now + timedelta(hours=2)
    response = _act(client, article.id, "publish", headers["editor"],
                    body={"publish_at": rfc3339(when)})
    assert response.status_code == 200, response.get_json()
    scheduled = response.get_json()
    assert scheduled["status"] == "scheduled"
    assert scheduled["published_at"] == rfc3339(when)
    assert scheduled["scheduled_for"] == rfc3339(when)

    listed = client.get(f"{API}?status=scheduled", headers=headers["editor"]).get_json()
    assert [item["id"] for item in listed["data"]] == [article.id]
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 404
    assert client.get(f"{PUBLIC}/{article.slug}/summary").status_code == 404
    assert article.slug not in _public_slugs(client)

    clock.advance(hours=1, minutes=59)
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 404

    clock.advance(minutes=1, seconds=1)
    public = client.get(f"{PUBLIC}/{article.slug}")
    assert public.status_code == 200
    assert public.get_json()["status"] == "published"
    assert public.get_json()["published_at"] == rfc3339(when)
    assert article.slug in _public_slugs(client)

    # The editor API says the same, without any job having run.
    editor_view = client.get(f"{API}/{article.id}", headers=headers["editor"]).get_json()
    assert editor_view["status"] == "published"
    assert editor_view["scheduled_for"] is None
    listed = client.get(f"{API}?status=published", headers=headers["editor"]).get_json()
    assert [item["id"] for item in listed["data"]] == [article.id]
    assert listed["data"][0]["status"] == "published"
    assert client.get(f"{API}?status=scheduled", headers=headers["editor"]).get_json()[
        "data"] == []
    # And it now acts as published: it can be archived, not published again.
    assert _act(client, article.id, "archive", headers["editor"]).status_code == 200


def test_schedule_accepts_any_utc_offset(client, users, headers, clock):
    article = make_article("Offset story", status="draft")
    local = (clock.now + timedelta(days=1)).astimezone(timezone(timedelta(hours=2)))
    assert local.isoformat().endswith("+02:00")
    response = _act(client, article.id, "publish", headers["editor"],
                    body={"publish_at": local.isoformat()})
    assert response.status_code == 200
    assert response.get_json()["published_at"] == rfc3339(local.astimezone(UTC))


def test_publish_at_in_the_past_publishes_now(client, users, headers, clock):
    article = make_article("Late story", status="draft")
    response = _act(client, article.id, "publish", headers["editor"],
                    body={"publish_at": rfc3339(clock.now - timedelta(days=3))})
    assert response.status_code == 200
    assert response.get_json()["status"] == "published"
    assert response.get_json()["published_at"] == rfc3339(clock.now)
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 200


def test_scheduled_article_can_be_published_now_or_rescheduled(client, users, headers, clock):
    article = make_article("Rescheduled story", status="draft")
    later = clock.now + timedelta(days=2)
    assert _act(client, article.id, "publish", headers["editor"],
                body={"publish_at": rfc3339(later)}).get_json()["status"] == "scheduled"
    sooner = clock.now + timedelta(hours=1)
    moved = _act(client, article.id, "publish", headers["editor"],
                 body={"publish_at": rfc3339(sooner)}).get_json()
    assert moved["status"] == "scheduled" and moved["published_at"] == rfc3339(sooner)
    now = _act(client, article.id, "publish", headers["editor"]).get_json()
    assert now["status"] == "published"
    assert now["published_at"] == rfc3339(clock.now)
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 200


def test_unpublishing_a_scheduled_article_keeps_it_from_going_live(client, users, headers, clock):
    article = make_article("Cancelled story", status="draft")
    _act(client, article.id, "publish", headers["editor"],
         body={"publish_at": rfc3339(clock.now + timedelta(hours=1))})
    response = _act(client, article.id, "unpublish", headers["editor"])
    assert response.status_code == 200
    assert response.get_json()["status"] == "draft"
    clock.advance(hours=2)
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 404
    assert article.slug not in _public_slugs(client)


# --- unpublish and republish ------------------------------------------------------------------


def test_unpublish_hides_the_article_and_republish_keeps_first_published_at(
    client, users, headers, clock
):
    article = make_article("Port story", status="draft")
    first = _act(client, article.id, "publish", headers["editor"]).get_json()
    first_time = rfc3339(clock.now)
    assert first["published_at"] == first["first_published_at"] == first_time
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 200

    clock.advance(hours=3)
    unpublished = _act(client, article.id, "unpublish", headers["editor"]).get_json()
    assert unpublished["status"] == "draft"
    assert unpublished["first_published_at"] == first_time
    gone = client.get(f"{PUBLIC}/{article.slug}")
    assert gone.status_code == 404
    assert gone.headers["Cache-Control"] == "no-store"
    assert article.slug not in _public_slugs(client)
    assert client.get(f"{PUBLIC}/{article.slug}/summary").status_code == 404
    assert client.get(f"{PUBLIC}/{article.slug}/related").status_code == 404

    clock.advance(days=1)
    again = _act(client, article.id, "publish", headers["editor"]).get_json()
    assert again["status"] == "published"
    assert again["published_at"] == rfc3339(clock.now)
    assert again["first_published_at"] == first_time
    public = client.get(f"{PUBLIC}/{article.slug}").get_json()
    assert public["first_published_at"] == first_time
    assert public["published_at"] == rfc3339(clock.now)


def test_archive_hides_and_restore_returns_to_draft(client, users, headers):
    article = make_article("Old news", status="published")
    assert _act(client, article.id, "archive", headers["editor"]).status_code == 200
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 404
    restored = _act(client, article.id, "restore-draft", headers["editor"])
    assert restored.get_json()["status"] == "draft"
    assert client.get(f"{PUBLIC}/{article.slug}").status_code == 404
