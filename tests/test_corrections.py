"""The corrections log: append, read publicly (detail, list, site-wide), hide; never edit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import Correction
from tests.conftest import make_article


@pytest.fixture
def article(users):
    return make_article("Port handles record volume", author=users["editor"])


def _correct(client, headers, article_id, **body):
    body = {"kind": "correction", "text": "The port handled 4.2 million, not 4.5 million.", **body}
    return client.post(
        f"/api/v1/editor/articles/{article_id}/corrections", json=body, headers=headers
    )


def test_correction_appears_on_detail_list_and_site_wide_and_moves_updated_at(
    client, headers, article, clock
):
    before = client.get(f"/api/v1/articles/{article.slug}").get_json()
    clock.advance(minutes=5)
    response = _correct(client, headers["editor"], article.id, block_index=0)
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert entry["kind"] == "correction"
    assert entry["block_index"] == 0
    assert entry["attribution"] == {"source": "handelsblatt"}  # the corrected block's source

    detail = client.get(f"/api/v1/articles/{article.slug}").get_json()
    assert detail["updated_at"] > before["updated_at"]
    assert [c["text"] for c in detail["corrections"]] == [entry["text"]]
    assert detail["corrections"][0] == {k: entry[k] for k in detail["corrections"][0]}

    own = client.get(f"/api/v1/articles/{article.slug}/corrections")
    assert own.status_code == 200 and own.headers["Cache-Control"].startswith("public")
    assert [c["id"] for c in own.get_json()] == [entry["id"]]

    site = client.get("/api/v1/corrections").get_json()
    assert site["data"][0]["id"] == entry["id"]
    assert site["data"][0]["article"]["slug"] == article.slug
    assert site["data"][0]["article"]["url"] == f"http://127.0.0.1:8000/articles/{article.slug}"

    card = client.get("/api/v1/articles").get_json()["data"][0]
    assert card["updated_at"] == detail["updated_at"]


def test_site_wide_list_pages_with_a_cursor_newest_first(client, headers, article):
    for n in range(5):
        assert _correct(client, headers["editor"], article.id, text=f"Fix {n}.").status_code == 201
    first = client.get("/api/v1/corrections?limit=2&count=true")
    body = first.get_json()
    assert [c["text"] for c in body["data"]] == ["Fix 4.", "Fix 3."]
    assert body["meta"]["total"] == 5
    assert 'rel="next"' in first.headers["Link"]
    seen = [c["text"] for c in body["data"]]
    cursor = body["meta"]["next_cursor"]
    while cursor:
        body = client.get(f"/api/v1/corrections?limit=2&cursor={cursor}").get_json()
        seen += [c["text"] for c in body["data"]]
        cursor = body["meta"]["next_cursor"]
    assert seen == [f"Fix {n}." for n in (4, 3, 2, 1, 0)]
    assert client.get("/api/v1/corrections?cursor=nonsense").status_code == 400
    assert client.get("/api/v1/corrections?page=2").status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"kind": "erratum"}, "kind"),
        ({"block_index": 6}, "block_index"),  # the body has 6 blocks: 0-5
        ({"block_index": -1}, "block_index"),
        ({"id": 5}, "id"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, headers, article, body, field):
    response = _correct(client, headers["editor"], article.id, **body)
    assert response.status_code == 422, response.get_json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Correction)) == 0


def test_only_editors_append_and_only_to_public_articles(client, headers, users, article):
    assert _correct(client, headers["writer"], article.id).status_code == 403
    draft = make_article("A draft", status="draft")
    response = _correct(client, headers["editor"], draft.id)
    assert response.status_code == 409
    assert _correct(client, headers["editor"], 999999).status_code == 404


def test_hidden_correction_leaves_public_surfaces_and_stays_in_the_log(client, headers, article):
    entry = _correct(client, headers["editor"], article.id).get_json()
    url = f"/api/v1/editor/articles/{article.id}/corrections/{entry['id']}/hide"
    assert (
        client.post(
            url, json={"reason": "Posted on the wrong article"}, headers=headers["editor"]
        ).status_code
        == 403
    )
    assert client.post(url, json={}, headers=headers["admin"]).status_code == 422
    assert client.post(url, json={"reason": ""}, headers=headers["admin"]).status_code == 422
    hidden = client.post(
        url, json={"reason": "Posted on the wrong article"}, headers=headers["admin"]
    )
    assert hidden.status_code == 200
    assert hidden.get_json()["hidden"] is True
    assert client.post(url, json={"reason": "again"}, headers=headers["admin"]).status_code == 409

    assert client.get(f"/api/v1/articles/{article.slug}").get_json()["corrections"] == []
    assert client.get(f"/api/v1/articles/{article.slug}/corrections").get_json() == []
    assert client.get("/api/v1/corrections").get_json()["data"] == []
    log = client.get(
        f"/api/v1/editor/articles/{article.id}/corrections", headers=headers["editor"]
    ).get_json()
    assert [(c["id"], c["hidden"], c["hidden_reason"]) for c in log] == [
        (entry["id"], True, "Posted on the wrong article")
    ]
    audit = client.get(
        "/api/v1/editor/audit?action=correction.hide", headers=headers["admin"]
    ).get_json()["data"]
    assert audit[0]["detail"]["reason"] == "Posted on the wrong article"
    assert audit[0]["actor_email"] == "admin@example.org"


def test_no_write_path_changes_history(client, headers, article, app):
    """Every way to change or remove an entry is refused, and the entry is unchanged."""
    entry = _correct(client, headers["editor"], article.id, block_index=2).get_json()
    base = f"/api/v1/editor/articles/{article.id}/corrections"
    admin = headers["admin"]
    attempts = [
        client.put(f"{base}/{entry['id']}", json={"text": "rewritten"}, headers=admin),
        client.patch(f"{base}/{entry['id']}", json={"text": "rewritten"}, headers=admin),
        client.delete(f"{base}/{entry['id']}", headers=admin),
        client.put(base, json=[], headers=admin),
        client.patch(base, json={"text": "rewritten"}, headers=admin),
        client.delete(base, headers=admin),
        client.post(base, json={"id": entry["id"], "kind": "update", "text": "x"}, headers=admin),
        client.post(
            f"{base}/{entry['id']}/hide", json={"reason": "x", "text": "rewritten"}, headers=admin
        ),
        client.post("/api/v1/corrections", json={"text": "x"}),
        client.delete(f"/api/v1/articles/{article.slug}/corrections"),
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404, 405, 405, 405, 422, 422, 405, 405]

    # Deleting the article would delete its log: refused, by the service and the database.
    gone = client.delete(f"/api/v1/editor/articles/{article.id}", headers=admin)
    assert gone.status_code == 409
    assert "corrections" in gone.get_json()["detail"]

    # Restoring an old revision and editing the body leave the log alone.
    etag = client.get(f"/api/v1/editor/articles/{article.id}", headers=admin).headers["ETag"]
    edited = client.patch(
        f"/api/v1/editor/articles/{article.id}",
        json={"body": []},
        headers={**admin, "If-Match": etag},
    )
    assert edited.status_code == 200
    etag = edited.headers["ETag"]
    restored = client.post(
        f"/api/v1/editor/articles/{article.id}/revisions/1/restore",
        headers={**admin, "If-Match": etag},
    )
    assert restored.status_code == 200, restored.get_json()

    # Below the API: the session refuses edits and deletes; the database refuses to cascade.
    from cms.services.distribution.corrections import AppendOnly

    stored = db.session.get(Correction, entry["id"])
    stored.text = "rewritten"
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    stored = db.session.get(Correction, entry["id"])
    db.session.delete(stored)
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("DELETE FROM articles WHERE id = :id"), {"id": article.id})
        db.session.flush()
    db.session.rollback()

    log = client.get(base, headers=admin).get_json()
    assert log == [
        entry
        | {
            "hidden": False,
            "hidden_at": None,
            "hidden_by_id": None,
            "hidden_reason": None,
            "article_id": article.id,
            "created_by_id": log[0]["created_by_id"],
        }
    ]
    assert (
        client.get(f"/api/v1/articles/{article.slug}/corrections").get_json()[0]["text"]
        == (entry["text"])
    )
