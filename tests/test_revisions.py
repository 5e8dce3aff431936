"""Revisions: every change is recorded; diff between two; restore brings content back."""

from __future__ import annotations

import sqlalchemy as sa

from cms.extensions import db
from cms.models import Revision
from tests.conftest import make_article

BASE = "/api/v1/editor/articles"


def _create(client, headers, **fields):
    data = {"title": "Harbour talks resume", "section": "news", "tags": ["port"],
            "body": [{"type": "paragraph", "text": "Talks resume on Monday."}], **fields}
    response = client.post(BASE, json=data, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def _patch(client, headers, article_id, etag, data):
    response = client.patch(
        f"{BASE}/{article_id}", json=data, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()
    return response


def _revisions(client, headers, article_id, **params):
    response = client.get(f"{BASE}/{article_id}/revisions", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_edit_edit_diff_restore_round_trip(client, headers):
    editor = headers["editor"]
    created = _create(client, editor)
    article_id = created.get_json()["id"]
    first = _patch(client, editor, article_id, created.headers["ETag"],
                   {"title": "Harbour talks resume on Monday"})
    second = _patch(client, editor, article_id, first.headers["ETag"], {
        "body": [{"type": "paragraph", "text": "Talks collapsed on Tuesday."},
                 {"type": "paragraph", "text": "A strike looms."}],
        "tags": ["energy"],
    })

    listed = _revisions(client, editor, article_id)["data"]
    assert [r["number"] for r in listed] == [3, 2, 1]
    assert [r["kind"] for r in listed] == ["edit", "edit", "create"]
    assert set(listed[0]["changed"]) == {"body", "tags"}
    assert listed[1]["changed"] == ["title"]
    assert listed[0]["actor"]["email"] == "editor@example.org"
    assert listed[0]["article_version"] == second.get_json()["version"]

    one = client.get(f"{BASE}/{article_id}/revisions/1", headers=editor).get_json()
    assert one["content"]["title"] == "Harbour talks resume"
    assert one["content"]["body"][0]["text"] == "Talks resume on Monday."

    diff = client.get(f"{BASE}/{article_id}/revisions/diff?from=1&to=3", headers=editor)
    assert diff.status_code == 200, diff.get_json()
    diff = diff.get_json()
    by_field = {c["field"]: c for c in diff["fields"]}
    assert by_field["title"] == {"field": "title", "old": "Harbour talks resume",
                                 "new": "Harbour talks resume on Monday"}
    assert by_field["tags"]["old"] == ["port"] and by_field["tags"]["new"] == ["energy"]
    assert diff["body_changed"] is True
    assert "-Talks resume on Monday." in diff["body_diff"]
    assert "+Talks collapsed on Tuesday." in diff["body_diff"]
    assert "+A strike looms." in diff["body_diff"]

    # Restore needs a precondition, like PATCH.
    no_match = client.post(f"{BASE}/{article_id}/revisions/1/restore", headers=editor)
    assert no_match.status_code == 428
    stale = client.post(f"{BASE}/{article_id}/revisions/1/restore",
                        headers={**editor, "If-Match": first.headers["ETag"]})
    assert stale.status_code == 412

    restored = client.post(f"{BASE}/{article_id}/revisions/1/restore",
                           headers={**editor, "If-Match": second.headers["ETag"]})
    assert restored.status_code == 200, restored.get_json()
    body = restored.get_json()
    assert body["title"] == "Harbour talks resume"
    assert [b["text"] for b in body["body"]] == ["Talks resume on Monday."]
    assert [t["slug"] for t in body["tags"]] == ["port"]
    assert body["body_text"] == "Talks resume on Monday."
    assert restored.headers["ETag"] != second.headers["ETag"]

    latest = _revisions(client, editor, article_id)["data"][0]
    assert latest["number"] == 4
    assert latest["kind"] == "restore"
    assert latest["detail"] == {"restored_from": 1}
    assert {"title", "body", "tags"} <= set(latest["changed"])

    # Nothing differs between revision 1 and the restore.
    same = client.get(f"{BASE}/{article_id}/revisions/diff?from=1&to=4", headers=editor).get_json()
    assert same["fields"] == [] and same["body_diff"] == "" and same["body_changed"] is False


def test_status_only_changes_store_no_copy_of_the_body(client, headers, users):
    editor = headers["editor"]
    created = _create(client, editor)
    article_id = created.get_json()["id"]
    published = client.post(f"{BASE}/{article_id}/publish",
                            headers={**editor, "If-Match": created.headers["ETag"]})
    assert published.status_code == 200
    titled = _patch(client, editor, article_id, published.headers["ETag"], {"title": "New title"})
    archived = client.post(f"{BASE}/{article_id}/archive",
                           headers={**editor, "If-Match": titled.headers["ETag"]})
    assert archived.status_code == 200

    listed = _revisions(client, editor, article_id)["data"]
    assert [(r["kind"], r["content_stored"]) for r in listed] == [
        ("archive", False), ("edit", True), ("publish", False), ("create", True)]
    assert listed[2]["changed"] == ["status", "published_at"]
    assert listed[2]["status"] == "published"

    stored = {r.number: r.snapshot for r in db.session.scalars(
        sa.select(Revision).where(Revision.article_id == article_id))}
    assert stored[2] is None and stored[4] is None
    assert "body" in stored[1]
    assert "body" not in stored[3] and stored[3]["title"] == "New title"

    # Reading a status-only revision still shows the content of that moment.
    at_publish = client.get(f"{BASE}/{article_id}/revisions/2", headers=editor).get_json()
    assert at_publish["content"]["title"] == "Harbour talks resume"
    assert at_publish["content"]["body"][0]["text"] == "Talks resume on Monday."
    at_archive = client.get(f"{BASE}/{article_id}/revisions/4", headers=editor).get_json()
    assert at_archive["content"]["title"] == "New title"
    assert at_archive["content"]["body"][0]["text"] == "Talks resume on Monday."

    diff = client.get(f"{BASE}/{article_id}/revisions/diff?from=1&to=2", headers=editor).get_json()
    assert diff["fields"] == [{"field": "status", "old": "draft", "new": "published"}]


def test_restore_keeps_the_status_and_looks_back_to_the_latest_snapshot(client, headers):
    editor = headers["editor"]
    created = _create(client, editor)
    article_id = created.get_json()["id"]
    edited = _patch(client, editor, article_id, created.headers["ETag"], {
        "body": [{"type": "paragraph", "text": "Second version of the text."}]})
    published = client.post(f"{BASE}/{article_id}/publish",
                            headers={**editor, "If-Match": edited.headers["ETag"]})
    changed = _patch(client, editor, article_id, published.headers["ETag"], {
        "body": [{"type": "paragraph", "text": "Third version."}]})
    # Revision 3 (publish) stored no content: restoring it brings back revision 2's body.
    restored = client.post(f"{BASE}/{article_id}/revisions/3/restore",
                           headers={**editor, "If-Match": changed.headers["ETag"]})
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["body"][0]["text"] == "Second version of the text."
    assert restored.get_json()["status"] == "published"


def test_summary_related_and_workflow_changes_are_revisions(client, headers, users):
    editor = headers["editor"]
    other = make_article("Background piece", author=users["editor"])
    created = _create(client, editor)
    article_id = created.get_json()["id"]
    summary = client.put(f"{BASE}/{article_id}/summary", headers=editor,
                         json={"tldr": "Talks resume.", "key_points": []})
    assert summary.status_code == 200, summary.get_json()
    related = client.put(f"{BASE}/{article_id}/related", headers=editor,
                         json={"links": [{"article_id": other.id, "label": "Background"}]})
    assert related.status_code == 200, related.get_json()
    # Saving the same links again is not a change.
    client.put(f"{BASE}/{article_id}/related", headers=editor,
               json={"links": [{"article_id": other.id, "label": "Background"}]})
    deleted = client.delete(f"{BASE}/{article_id}/summary", headers=editor)
    assert deleted.status_code == 204

    listed = _revisions(client, editor, article_id)["data"]
    assert [(r["kind"], r["changed"]) for r in listed] == [
        ("summary", ["summary"]),
        ("related", ["related"]),
        ("summary", ["summary"]),
        ("create", listed[-1]["changed"]),
    ]
    assert listed[0]["detail"] == {"action": "delete"}
    assert listed[1]["detail"]["links"][0]["article_id"] == other.id
    assert listed[2]["detail"]["tldr"] == "Talks resume."


def test_revisions_are_paginated_newest_first(client, headers):
    editor = headers["editor"]
    response = _create(client, editor)
    article_id = response.get_json()["id"]
    for i in range(4):
        response = _patch(client, editor, article_id, response.headers["ETag"],
                          {"title": f"Title {i}"})
    page = _revisions(client, editor, article_id, limit=2, count="true")
    assert [r["number"] for r in page["data"]] == [5, 4]
    assert page["meta"]["total"] == 5
    rest = _revisions(client, editor, article_id, limit=2, cursor=page["meta"]["next_cursor"])
    assert [r["number"] for r in rest["data"]] == [3, 2]
    last = _revisions(client, editor, article_id, limit=2, cursor=rest["meta"]["next_cursor"])
    assert [r["number"] for r in last["data"]] == [1]
    assert last["meta"]["next_cursor"] is None


def test_errors_and_permissions(client, headers, users):
    editor, writer, writer2 = headers["editor"], headers["writer"], headers["writer2"]
    created = _create(client, writer)
    article_id = created.get_json()["id"]
    assert client.get(f"{BASE}/{article_id}/revisions/9", headers=writer).status_code == 404
    assert client.get(f"{BASE}/999999/revisions", headers=writer).status_code == 404
    bad = client.get(f"{BASE}/{article_id}/revisions/diff?from=1", headers=writer)
    assert bad.status_code == 400
    unknown = client.get(f"{BASE}/{article_id}/revisions?sort=asc", headers=writer)
    assert unknown.status_code == 400
    # Another writer may not read the revisions of this article, nor restore them.
    assert client.get(f"{BASE}/{article_id}/revisions", headers=writer2).status_code == 403
    assert client.get(f"{BASE}/{article_id}/revisions/1", headers=writer2).status_code == 403
    restore = client.post(f"{BASE}/{article_id}/revisions/1/restore",
                          headers={**writer2, "If-Match": created.headers["ETag"]})
    assert restore.status_code == 403
    # Once in review, the writer may read but no longer restore; an editor may.
    submitted = client.post(f"{BASE}/{article_id}/submit",
                            headers={**writer, "If-Match": created.headers["ETag"]})
    assert submitted.status_code == 200
    assert client.get(f"{BASE}/{article_id}/revisions", headers=writer).status_code == 200
    etag = submitted.headers["ETag"]
    denied = client.post(f"{BASE}/{article_id}/revisions/1/restore",
                         headers={**writer, "If-Match": etag})
    assert denied.status_code == 403
    allowed = client.post(f"{BASE}/{article_id}/revisions/1/restore",
                          headers={**editor, "If-Match": etag})
    assert allowed.status_code == 200
    assert client.get(f"{BASE}/{article_id}/revisions", headers={}).status_code == 401


def test_stale_version_names_what_changed_and_who_changed_it(client, headers):
    editor, admin = headers["editor"], headers["admin"]
    created = _create(client, editor)
    article_id = created.get_json()["id"]
    old_etag = created.headers["ETag"]
    first = _patch(client, admin, article_id, old_etag, {"title": "Changed by the admin"})
    _patch(client, editor, article_id, first.headers["ETag"], {"subtitle": "A standfirst"})

    response = client.patch(f"{BASE}/{article_id}", json={"title": "Mine"},
                            headers={**editor, "If-Match": old_etag})
    assert response.status_code == 412
    problem = response.get_json()
    assert response.content_type == "application/problem+json"
    changes = {c["field"]: c for c in problem["changed_since"]}
    assert set(changes) == {"title", "subtitle"}
    assert changes["title"]["by"] == "admin@example.org"
    assert changes["subtitle"]["by"] == "editor@example.org"
    assert changes["title"]["at"].endswith("Z")
    assert problem["current_version"] == created.get_json()["version"] + 2

    # Sending the version in between names only what changed after it.
    response = client.patch(f"{BASE}/{article_id}", json={"title": "Mine"},
                            headers={**editor, "If-Match": first.headers["ETag"]})
    assert [c["field"] for c in response.get_json()["changed_since"]] == ["subtitle"]
