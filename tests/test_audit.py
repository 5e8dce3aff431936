"""The audit log: every write in the editor API, readable by admins with filters."""

from __future__ import annotations

from tests.conftest import PASSWORD, auth_headers, bearer, login

BASE = "/api/v1/editor"


def _events(client, headers, **params):
    response = client.get(f"{BASE}/audit", headers=headers, query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_article_writes_are_audited_with_actor_request_and_detail(client, headers, users):
    editor = headers["editor"]
    created = client.post(f"{BASE}/articles", headers={**editor, "X-Request-ID": "req-create-1"},
                          json={"title": "Harbour talks", "section": "news"})
    article_id = created.get_json()["id"]
    patched = client.patch(f"{BASE}/articles/{article_id}", json={"title": "Harbour talks end"},
                           headers={**editor, "If-Match": created.headers["ETag"]})
    published = client.post(f"{BASE}/articles/{article_id}/publish",
                            headers={**editor, "If-Match": patched.headers["ETag"]})
    assert published.status_code == 200
    client.put(f"{BASE}/articles/{article_id}/summary", headers=editor,
               json={"tldr": "Talks ended.", "key_points": []})
    client.put(f"{BASE}/articles/{article_id}/related", headers=editor,
               json={"links": [{"url": "https://example.org/x", "title": "Background"}]})
    client.delete(f"{BASE}/articles/{article_id}/summary", headers=editor)
    client.post(f"{BASE}/articles/{article_id}/preview", headers=editor)
    client.delete(f"{BASE}/articles/{article_id}/preview", headers=editor)
    etag = client.get(f"{BASE}/articles/{article_id}", headers=editor).headers["ETag"]
    restored = client.post(f"{BASE}/articles/{article_id}/revisions/1/restore",
                           headers={**editor, "If-Match": etag})
    assert restored.status_code == 200, restored.get_json()
    assert client.delete(f"{BASE}/articles/{article_id}", headers=editor).status_code == 204

    events = _events(client, headers["admin"], resource_type="article",
                     resource_id=str(article_id))["data"]
    assert [e["action"] for e in events] == [
        "article.delete",
        "article.restore",
        "article.preview_revoke",
        "article.preview",
        "article.summary_delete",
        "article.related",
        "article.summary_write",
        "article.publish",
        "article.update",
        "article.create",
    ]
    assert {e["actor_email"] for e in events} == {"editor@example.org"}
    assert {e["actor_id"] for e in events} == {users["editor"].id}
    create = events[-1]
    assert create["request_id"] == "req-create-1"
    assert create["ip"] == "127.0.0.1"
    assert create["at"].endswith("Z")
    assert events[-2]["detail"] == {"changed": ["title"]}
    assert events[-3]["detail"]["to"] == "published"
    assert events[1]["detail"]["restored_from"] == 1
    # The log outlives the article.
    assert client.get(f"{BASE}/articles/{article_id}", headers=editor).status_code == 404


def test_a_refused_write_leaves_no_event(client, headers, users):
    created = client.post(f"{BASE}/articles", headers=headers["writer"], json={"title": "Mine"})
    article_id = created.get_json()["id"]
    stale = client.patch(f"{BASE}/articles/{article_id}", json={"title": "x"},
                         headers={**headers["writer"], "If-Match": '"a1-v999"'})
    assert stale.status_code == 412
    forbidden = client.post(f"{BASE}/articles/{article_id}/publish",
                            headers={**headers["writer"], "If-Match": created.headers["ETag"]})
    assert forbidden.status_code == 403
    actions = [e["action"] for e in _events(client, headers["admin"], resource_type="article")[
        "data"]]
    assert actions == ["article.create"]


def test_taxonomy_and_user_writes_are_audited(client, headers, users):
    admin, editor = headers["admin"], headers["editor"]
    assert client.post(f"{BASE}/tags", headers=editor,
                       json={"name": "Shipping"}).status_code == 201
    assert client.patch(f"{BASE}/tags/shipping", headers=editor,
                        json={"name": "Shipping lines"}).status_code == 200
    assert client.delete(f"{BASE}/tags/shipping", headers=editor).status_code == 204

    created = client.post(f"{BASE}/users", headers=admin,
                          json={"email": "new@example.org", "password": PASSWORD,
                                "role": "writer"})
    assert created.status_code == 201, created.get_json()
    user_id = created.get_json()["id"]
    assert client.patch(f"{BASE}/users/{user_id}", headers=admin,
                        json={"role": "editor", "password": "another long password"}
                        ).status_code == 200
    assert client.delete(f"{BASE}/users/{user_id}", headers=admin).status_code == 204

    tags = _events(client, admin, resource_type="tag")["data"]
    assert [(e["action"], e["resource_id"]) for e in tags] == [
        ("tag.delete", "shipping"), ("tag.update", "shipping"), ("tag.create", "shipping")]
    assert tags[1]["detail"]["changed"] == ["name"]
    assert tags[0]["actor_email"] == "editor@example.org"

    people = _events(client, admin, resource_type="user", resource_id=str(user_id))["data"]
    assert [e["action"] for e in people] == ["user.delete", "user.update", "user.create"]
    assert people[1]["detail"] == {"changed": ["password", "role"]}
    assert "another long password" not in str(people)
    assert people[2]["detail"] == {"email": "new@example.org", "role": "writer"}


def test_logins_failures_logout_and_refresh_reuse_are_audited(client, users):
    wrong = client.post(f"{BASE}/auth/login",
                        json={"email": "Writer@Example.org", "password": "not the password"})
    assert wrong.status_code == 401
    nobody = client.post(f"{BASE}/auth/login",
                         json={"email": "nobody@example.org", "password": "whatever it is"})
    assert nobody.status_code == 401

    tokens = login(client, "writer@example.org")
    refreshed = client.post(f"{BASE}/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    reused = client.post(f"{BASE}/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert reused.status_code == 401
    second = login(client, "writer@example.org")
    assert client.post(f"{BASE}/auth/logout",
                       headers=bearer(second["access_token"])).status_code == 204

    admin = auth_headers(client, "admin@example.org")
    failures = _events(client, admin, action="auth.login_failed")["data"]
    assert [e["detail"]["email"] for e in failures] == ["nobody@example.org",
                                                        "writer@example.org"]
    assert failures[1]["resource_id"] == str(users["writer"].id)
    assert failures[0]["resource_id"] is None
    assert all(e["actor_id"] is None for e in failures)
    assert "not the password" not in str(failures)
    assert "whatever it is" not in str(failures)

    writer = _events(client, admin, actor=str(users["writer"].id))["data"]
    assert [e["action"] for e in writer] == [
        "auth.logout", "auth.login", "auth.refresh_reuse", "auth.login"]
    by_email = _events(client, admin, actor="writer@example.org")["data"]
    assert [e["id"] for e in by_email] == [e["id"] for e in writer]


def test_only_admins_read_the_log(client, headers):
    for role in ("editor", "writer"):
        response = client.get(f"{BASE}/audit", headers=headers[role])
        assert response.status_code == 403
    assert client.get(f"{BASE}/audit").status_code == 401
    response = client.get(f"{BASE}/audit", headers=headers["admin"])
    assert response.headers["Cache-Control"] == "no-store"


def test_filters_time_range_and_cursor_pagination(client, headers, clock):
    admin = headers["admin"]
    start = clock.now
    for i in range(5):
        clock.advance(minutes=1)
        client.post(f"{BASE}/tags", headers=admin, json={"name": f"Tag {i}"})
    tag_events = _events(client, admin, action="tag.create", count="true", limit=2)
    assert tag_events["meta"]["total"] == 5
    assert [e["resource_id"] for e in tag_events["data"]] == ["tag-4", "tag-3"]
    cursor = tag_events["meta"]["next_cursor"]
    rest = _events(client, admin, action="tag.create", limit=2, cursor=cursor)
    assert [e["resource_id"] for e in rest["data"]] == ["tag-2", "tag-1"]
    assert "cursor=" in client.get(f"{BASE}/audit?action=tag.create&limit=2",
                                   headers=admin).headers["Link"]

    def ts(minutes):
        from datetime import timedelta
        return (start + timedelta(minutes=minutes)).isoformat()

    window = _events(client, admin, action="tag.create", since=ts(2), until=ts(4))["data"]
    assert [e["resource_id"] for e in window] == ["tag-2", "tag-1"]

    bad = client.get(f"{BASE}/audit?since=yesterday", headers=admin)
    assert bad.status_code == 400
    assert client.get(f"{BASE}/audit?who=me", headers=admin).status_code == 400
    assert client.get(f"{BASE}/audit?cursor=zzz", headers=admin).status_code == 400
