"""``Idempotency-Key`` on ``POST /api/v1/editor/articles``: a retried create gets the first
answer instead of making a second article."""

from __future__ import annotations

import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article, IdempotencyKey

ARTICLES = "/api/v1/editor/articles"


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Article))


def test_a_retried_create_returns_the_first_answer(client, headers):
    key = {"Idempotency-Key": "6f1c2a0e-create-1"}
    body = {"title": "Retried create", "tags": ["energy"]}
    first = client.post(ARTICLES, json=body, headers={**headers["writer"], **key})
    # the same request again, keys of the JSON in another order
    again = client.post(ARTICLES, json={"tags": ["energy"], "title": "Retried create"},
                        headers={**headers["writer"], **key})

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count() == 1


def test_the_same_key_with_another_body_is_422(client, headers):
    key = {"Idempotency-Key": "key-two"}
    assert client.post(ARTICLES, json={"title": "One"},
                       headers={**headers["writer"], **key}).status_code == 201
    other = client.post(ARTICLES, json={"title": "Two"}, headers={**headers["writer"], **key})

    assert other.status_code == 422
    assert other.mimetype == "application/problem+json"
    assert "Idempotency-Key" in other.get_json()["detail"]
    assert _count() == 1


def test_keys_belong_to_their_user(client, headers):
    key = {"Idempotency-Key": "shared-by-chance"}
    mine = client.post(ARTICLES, json={"title": "Mine"}, headers={**headers["writer"], **key})
    theirs = client.post(ARTICLES, json={"title": "Mine"}, headers={**headers["editor"], **key})

    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_failed_create_is_not_remembered(client, headers, users):
    key = {"Idempotency-Key": "first-try-invalid"}
    bad = client.post(ARTICLES, json={"title": "Bad", "section": "no-such-section"},
                      headers={**headers["writer"], **key})
    assert bad.status_code == 422
    good = client.post(ARTICLES, json={"title": "Bad", "section": "news"},
                       headers={**headers["writer"], **key})
    assert good.status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 1


def test_an_expired_key_can_be_used_again(client, headers, clock):
    key = {"Idempotency-Key": "old-key"}
    first = client.post(ARTICLES, json={"title": "Old"}, headers={**headers["writer"], **key})
    clock.advance(hours=25)
    second = client.post(ARTICLES, json={"title": "Old"}, headers={**headers["writer"], **key})

    assert first.status_code == second.status_code == 201
    assert second.get_json()["id"] != first.get_json()["id"]


def test_an_unusable_key_is_422(client, headers):
    for bad in ("", "x" * 201, "with space", "ümlaut"):
        response = client.post(ARTICLES, json={"title": "Key check"},
                               headers={**headers["writer"], "Idempotency-Key": bad})
        assert response.status_code == 422, bad
    assert _count() == 0
