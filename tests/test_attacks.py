"""Attacks not covered elsewhere (XSS: test_rendering.py; JWT forgery, revocation and login
limits: test_auth.py; who-may-do-what: test_roles.py; 413/415/422 basics: test_conventions.py).

Here: SQL and full-text-search injection through every filter and through search, mass
assignment of read-only fields, ownership and role escalation, deeply nested and oversized
bodies, and user enumeration through login.
"""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from cms.extensions import db
from cms.models import Article, User
from tests.conftest import PASSWORD, make_article

EDITOR = "/api/v1/editor"
LOGIN = f"{EDITOR}/auth/login"
ARTICLES_URL = f"{EDITOR}/articles"

INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "') OR ('a'='a",
    "1; DROP TABLE articles; --",
    "news'; DELETE FROM articles; --",
    "' UNION SELECT id, email, password_hash FROM users --",
    "'; SELECT pg_sleep(3); --",
    "1' AND SLEEP(3) AND '1'='1",
    "%",
    "_",
    "%' OR slug LIKE '%",
    "\\",
    "\\'",
    "''",
    # full-text search syntax (tsquery / FTS5 / LIKE)
    "secret & merger",
    "secret | merger",
    "!secret",
    "secret:*",
    "sec:A",
    "secret <-> merger",
    "((((",
    "))))",
    '"unterminated',
    "NEAR(secret merger)",
    "title:secret",
    "*",
    "-secret",
    "secret OR 1=1",
    "\u0000",
    "x" * 5000,
]

PUBLIC_FILTERS = ["section", "tag", "author", "source", "language", "published_after",
                  "published_before", "fields", "cursor"]
EDITOR_FILTERS = ["status", "author", "section", "created_by", "q", "cursor"]
AUDIT_FILTERS = ["actor", "action", "resource_type", "resource_id", "since", "cursor"]


@pytest.fixture
def content(users, clock):
    """One public article and one secret draft whose words the injections aim at."""
    public = make_article("Harbour expansion approved", author=users["editor"])
    secret = make_article("Secret merger talks", status="draft", author=users["editor"],
                          tags=["secret-merger"],
                          body=[{"type": "paragraph", "text": "The secret merger is on."}])
    return public, secret


def _assert_clean_answer(response, secret_slug: str | None = None):
    assert response.status_code in (200, 400, 404), (response.status_code, response.get_data())
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert "Traceback" not in response.get_data(as_text=True)
    elif secret_slug is not None:
        assert secret_slug not in response.get_data(as_text=True)


def _articles_intact(expected: int) -> None:
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == expected
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 4


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_through_public_filters_and_search(client, content, payload):
    public, secret = content
    for name in PUBLIC_FILTERS:
        _assert_clean_answer(client.get("/api/v1/articles", query_string={name: payload}),
                             secret.slug)
    search = client.get("/api/v1/search", query_string={"q": payload})
    if search.status_code == 404 and search.get_json().get("detail", "").startswith("No such"):
        pytest.skip("no search endpoint")
    _assert_clean_answer(search, secret.slug)
    for name in ("section", "tag", "author"):
        _assert_clean_answer(client.get("/api/v1/search", query_string={"q": "merger",
                                                                         name: payload}),
                             secret.slug)
    _assert_clean_answer(client.get(f"/api/v1/articles/{payload}"), secret.slug)
    _assert_clean_answer(client.get(f"/api/v1/tags/{payload}"))
    _articles_intact(2)


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_through_editor_and_audit_filters(client, content, headers, payload):
    for name in EDITOR_FILTERS:
        response = client.get(f"{EDITOR}/articles", query_string={name: payload},
                              headers=headers["writer"])
        # a writer sees only their own articles, whatever the filter says
        _assert_clean_answer(response, content[1].slug)
    for name in AUDIT_FILTERS:
        _assert_clean_answer(client.get(f"{EDITOR}/audit", query_string={name: payload},
                                        headers=headers["admin"]))
    _articles_intact(2)


def test_search_for_a_drafts_words_finds_only_public_articles(client, content):
    response = client.get("/api/v1/search", query_string={"q": "secret merger"})
    if response.status_code == 404:
        pytest.skip("no search endpoint")
    assert response.status_code == 200
    assert response.get_json()["data"] == []


# --- mass assignment ----------------------------------------------------------------------------

READ_ONLY = {
    "id": 999,
    "created_at": "2001-01-01T00:00:00Z",
    "updated_at": "2001-01-01T00:00:00Z",
    "published_at": "2001-01-01T00:00:00Z",
    "status": "published",
    "created_by_id": 1,
    "created_by": 1,
    "body_html": "<script>alert(1)</script>",
    "word_count": 1,
    "body_revision": 7,
}


@pytest.mark.parametrize("field", sorted(READ_ONLY))
def test_read_only_fields_cannot_be_set_on_create(client, headers, users, field):
    response = client.post(f"{EDITOR}/articles",
                           json={"title": "Mass assignment", field: READ_ONLY[field]},
                           headers=headers["writer"])

    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_version_cannot_be_set_on_create(client, headers, users):
    response = client.post(f"{EDITOR}/articles", json={"title": "Versioned", "version": 50},
                           headers=headers["writer"])
    assert response.status_code == 422 and "version" in response.get_json()["errors"]


@pytest.mark.parametrize("field", sorted(READ_ONLY))
def test_read_only_fields_cannot_be_changed_by_patch(client, headers, users, field):
    created = client.post(f"{EDITOR}/articles", json={"title": "Patched later"},
                          headers=headers["writer"])
    before = created.get_json()

    response = client.patch(f"{EDITOR}/articles/{before['id']}",
                            json={field: READ_ONLY[field], "title": "Changed title"},
                            headers={**headers["writer"], "If-Match": created.headers["ETag"]})

    assert response.status_code == 422
    assert field in response.get_json()["errors"]
    after = client.get(f"{EDITOR}/articles/{before['id']}", headers=headers["writer"]).get_json()
    assert after == before


def test_a_writer_names_co_authors_but_keeps_ownership(client, headers, users):
    """Decision: `authors` is the byline (a writer may credit colleagues); ownership
    (`created_by_id`, which decides who may edit) is never taken from the body."""
    created = client.post(f"{EDITOR}/articles",
                          json={"title": "Joint reporting", "authors": ["ed-itor", "ana-writer"]},
                          headers=headers["writer"])
    assert created.status_code == 201
    article = created.get_json()
    assert [a["slug"] for a in article["authors"]] == ["ed-itor", "ana-writer"]
    assert article["created_by_id"] == users["writer"].id

    # dropping themselves from the byline does not hand the article to someone else
    patched = client.patch(f"{EDITOR}/articles/{article['id']}", json={"authors": ["ed-itor"]},
                           headers={**headers["writer"], "If-Match": created.headers["ETag"]})
    assert patched.status_code == 200
    assert patched.get_json()["created_by_id"] == users["writer"].id
    again = client.get(f"{EDITOR}/articles/{article['id']}", headers=headers["writer"])
    assert again.status_code == 200  # still theirs to read and edit
    other = client.get(f"{EDITOR}/articles/{article['id']}", headers=headers["writer2"])
    assert other.status_code == 403


@pytest.mark.parametrize("role", ["writer", "editor"])
def test_users_cannot_change_their_own_role(client, headers, users, role):
    me = users[role]
    response = client.patch(f"{EDITOR}/users/{me.id}", json={"role": "admin"},
                            headers=headers[role])

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    db.session.expire_all()
    assert db.session.get(User, me.id).role == role
    assert client.get(f"{EDITOR}/auth/me", headers=headers[role]).get_json()["role"] == role


# --- malformed and oversized bodies -------------------------------------------------------------


@pytest.mark.parametrize("depth", [500, 10_000, 100_000])
def test_deeply_nested_json_is_refused_cleanly(client, headers, users, depth):
    nested = "[" * depth + "]" * depth
    for raw in (nested, '{"title": "Deep", "body": ' + nested + "}",
                '{"title": ' + "{\"a\": " * depth + "1" + "}" * depth + "}"):
        response = client.post(f"{EDITOR}/articles", data=raw, content_type="application/json",
                               headers=headers["editor"])
        assert response.status_code in (400, 413, 422), response.status_code
        assert response.mimetype == "application/problem+json"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 0


def test_chunked_body_over_the_limit_is_413(app, client, headers, users, monkeypatch):
    """No Content-Length to check up front: the limit applies while reading."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    body = b'{"title": "' + b"x" * 5000 + b'"}'
    response = client.post(
        f"{EDITOR}/articles",
        input_stream=io.BytesIO(body),
        headers={**headers["editor"], "Content-Type": "application/json",
                 "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn says for chunked
    )
    assert response.status_code == 413, response.get_json()
    assert response.mimetype == "application/problem+json"

    small = client.post(
        f"{EDITOR}/articles",
        input_stream=io.BytesIO(b'{"title": "Chunked but small"}'),
        headers={**headers["editor"], "Content-Type": "application/json",
                 "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert small.status_code == 201, small.get_json()


# --- user enumeration ---------------------------------------------------------------------------


def test_unknown_email_and_wrong_password_answer_alike_and_both_verify_a_hash(
    client, users, monkeypatch
):
    calls = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, hash_, password):
        calls.append(hash_)
        return real_verify(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)

    answers = {}
    for case, credentials in {
        "wrong password": {"email": "editor@example.org", "password": "not the password"},
        "unknown email": {"email": "nobody@example.org", "password": "not the password"},
        "deactivated": {"email": "writer@example.org", "password": PASSWORD},
    }.items():
        if case == "deactivated":
            users["writer"].is_active = False
            db.session.commit()
        calls.clear()
        response = client.post(LOGIN, json=credentials)
        body = response.get_json()
        body.pop("request_id", None)
        answers[case] = (response.status_code, response.mimetype, body,
                         response.headers.get("WWW-Authenticate"))
        # the same work either way: exactly one Argon2 verification, so timing does not tell
        assert len(calls) == 1, (case, calls)
    assert answers["wrong password"] == answers["unknown email"] == answers["deactivated"]
    assert answers["unknown email"][0] == 401


# --- NUL characters (PostgreSQL text cannot hold them) -------------------------------------------

NUL_BODIES = [
    ("/api/v1/editor/sections", {"slug": "nul-section", "name": "Na\x00me"}, "name"),
    ("/api/v1/editor/tags", {"slug": "nul-tag", "name": "Tag\x00"}, "name"),
    ("/api/v1/editor/authors", {"slug": "nul-author", "name": "Au", "bio": "b\x00"}, "bio"),
    ("/api/v1/editor/users", {"email": "nul@example.org", "password": "x" * 12 + "\x00",
                              "role": "writer"}, "password"),
    ("/api/v1/editor/articles", {"title": "Fine", "body": [{"type": "image",
                                 "url": "https://img.example/a.jpg", "alt": "a\x00"}]},
     "body.0.alt"),
]


@pytest.mark.parametrize(("path", "body", "field"), NUL_BODIES)
def test_nul_characters_in_a_body_are_422_by_field(client, headers, path, body, field):
    response = client.post(path, json=body, headers=headers["admin"])

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_nul_characters_in_the_url_are_400(client, content):
    assert client.get("/api/v1/articles/a%00b").status_code == 400
    response = client.get("/api/v1/search?q=a%00b")
    assert response.status_code == 400 and "q" in response.get_json()["errors"]


def test_an_escaped_backslash_before_u0000_is_ordinary_text(client, headers, users):
    response = client.post(ARTICLES_URL, json={"title": "Path C:\\u0000 is fine"},
                           headers=headers["editor"])
    assert response.status_code == 201
    assert response.get_json()["title"] == "Path C:\\u0000 is fine"
