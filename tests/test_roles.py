"""Who may do what in the editor API (§5): admins everything, editors all content, writers
their own drafts only; users are for admins."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cms.extensions import db
from cms.models import Author, Section, Source, Tag
from tests.conftest import make_article, make_user

API = "/api/v1/editor"
# "writer" owns the article; "writer2" is a writer who does not.
ROLES = ("admin", "editor", "writer", "writer2")
OK_ALL = dict.fromkeys(ROLES, True)
OK_OWNER = {"admin": True, "editor": True, "writer": True, "writer2": False}
OK_EDITORS = {"admin": True, "editor": True, "writer": False, "writer2": False}
OK_ADMIN = {"admin": True, "editor": False, "writer": False, "writer2": False}


def _etag(article) -> dict:
    return {"If-Match": f'"a{article.id}-v{article.version}"'}


@dataclass
class Case:
    setup: Callable  # (users) -> context for the request
    method: str
    url: Callable  # (context) -> path
    body: Callable | None = None  # (context) -> JSON body
    if_match: bool = False


def _draft(users):
    return make_article("Writer's draft", status="draft", author=users["writer"])


def _in_review(users):
    return make_article("Writer's submission", status="in_review", author=users["writer"])


def _published(users):
    return make_article("Writer's published story", status="published", author=users["writer"])


def _article_url(suffix: str = "") -> Callable:
    return lambda article: f"{API}/articles/{article.id}{suffix}"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


_TAXONOMY_MODELS = {"sections": Section, "tags": Tag, "authors": Author, "sources": Source}


def _make_entry(kind: str):
    def setup(_users):
        obj = _TAXONOMY_MODELS[kind](slug=_unique(kind[:-1]), name="Entry")
        db.session.add(obj)
        db.session.commit()
        return obj

    return setup


def _other_user(_users):
    return make_user("writer")


ARTICLE_CASES = {
    "list": (Case(lambda u: None, "GET", lambda _: f"{API}/articles"), OK_ALL),
    "create": (
        Case(lambda u: None, "POST", lambda _: f"{API}/articles",
             body=lambda _: {"title": "A new story", "section": "news"}),
        OK_ALL,
    ),
    "read": (Case(_draft, "GET", _article_url()), OK_OWNER),
    "patch": (
        Case(_draft, "PATCH", _article_url(), body=lambda _: {"subtitle": "New standfirst"},
             if_match=True),
        OK_OWNER,
    ),
    "delete": (Case(_draft, "DELETE", _article_url()), OK_OWNER),
    "submit": (Case(_draft, "POST", _article_url("/submit"), if_match=True), OK_OWNER),
    "publish": (Case(_in_review, "POST", _article_url("/publish"), if_match=True), OK_EDITORS),
    "publish-own-draft": (
        Case(_draft, "POST", _article_url("/publish"), if_match=True),
        OK_EDITORS,
    ),
    "unpublish": (
        Case(_published, "POST", _article_url("/unpublish"), if_match=True),
        OK_EDITORS,
    ),
    "archive": (Case(_published, "POST", _article_url("/archive"), if_match=True), OK_EDITORS),
    "restore-draft": (
        Case(_in_review, "POST", _article_url("/restore-draft"), if_match=True),
        OK_OWNER,
    ),
    "summary-get": (Case(_draft, "GET", _article_url("/summary")), OK_OWNER),
    "summary-put": (
        Case(_draft, "PUT", _article_url("/summary"),
             body=lambda _: {"tldr": "The port had a record year.", "key_points": []}),
        OK_OWNER,
    ),
    "summary-delete": (Case(_draft, "DELETE", _article_url("/summary")), OK_OWNER),
    "summary-generate": (Case(_draft, "POST", _article_url("/summary/generate")), OK_OWNER),
    "related-get": (Case(_draft, "GET", _article_url("/related")), OK_OWNER),
    "related-put": (
        Case(_draft, "PUT", _article_url("/related"),
             body=lambda _: {"links": [{"url": "https://example.org/background",
                                        "title": "Background"}]}),
        OK_OWNER,
    ),
}

TAXONOMY_CASES = {}
for _kind in ("sections", "tags", "authors", "sources"):
    TAXONOMY_CASES[f"{_kind}-list"] = (Case(lambda u: None, "GET", lambda _, k=_kind:
                                            f"{API}/{k}"), OK_ALL)
    TAXONOMY_CASES[f"{_kind}-create"] = (
        Case(lambda u: None, "POST", lambda _, k=_kind: f"{API}/{k}",
             body=lambda _: {"name": "Fresh entry", "slug": _unique("fresh")}),
        OK_EDITORS,
    )
    TAXONOMY_CASES[f"{_kind}-patch"] = (
        Case(_make_entry(_kind), "PATCH", lambda obj, k=_kind: f"{API}/{k}/{obj.slug}",
             body=lambda _: {"name": "Renamed"}),
        OK_EDITORS,
    )
    TAXONOMY_CASES[f"{_kind}-delete"] = (
        Case(_make_entry(_kind), "DELETE", lambda obj, k=_kind: f"{API}/{k}/{obj.slug}"),
        OK_EDITORS,
    )

USER_CASES = {
    "users-list": (Case(lambda u: None, "GET", lambda _: f"{API}/users"), OK_ADMIN),
    "users-read": (Case(_other_user, "GET", lambda u: f"{API}/users/{u.id}"), OK_ADMIN),
    "users-create": (
        Case(lambda u: None, "POST", lambda _: f"{API}/users",
             body=lambda _: {"email": f"{_unique('new')}@example.org",
                             "password": "a long password", "role": "writer"}),
        OK_ADMIN,
    ),
    "users-patch": (
        Case(_other_user, "PATCH", lambda u: f"{API}/users/{u.id}",
             body=lambda _: {"role": "editor"}),
        OK_ADMIN,
    ),
    "users-delete": (Case(_other_user, "DELETE", lambda u: f"{API}/users/{u.id}"), OK_ADMIN),
}

MATRIX = {**ARTICLE_CASES, **TAXONOMY_CASES, **USER_CASES}


def _run(client, case: Case, context, auth: dict):
    request_headers = dict(auth)
    if case.if_match:
        db.session.refresh(context)
        request_headers.update(_etag(context))
    body = case.body(context) if case.body else None
    return client.open(case.url(context), method=case.method, json=body, headers=request_headers)


@pytest.mark.parametrize("action", list(MATRIX))
def test_permission_matrix(client, users, headers, action):
    case, expected = MATRIX[action]
    outcome, details = {}, {}
    for role in ROLES:
        context = case.setup(users)
        response = _run(client, case, context, headers[role])
        assert response.status_code in (200, 201, 204, 403), (role, response.get_json())
        outcome[role] = response.status_code != 403
        details[role] = response.status_code
        if response.status_code == 403:
            assert response.mimetype == "application/problem+json"
    assert outcome == expected, details


def test_writer_lists_only_own_articles(client, users, headers):
    own = make_article("Mine", status="draft", author=users["writer"])
    make_article("Someone else's", status="draft", author=users["writer2"])
    make_article("Editor's", status="published", author=users["editor"])
    body = client.get(f"{API}/articles", headers=headers["writer"]).get_json()
    assert [item["id"] for item in body["data"]] == [own.id]
    everything = client.get(f"{API}/articles?count=true", headers=headers["editor"]).get_json()
    assert everything["meta"]["total"] == 3


@pytest.mark.parametrize("status", ["in_review", "published", "archived"])
def test_writer_cannot_edit_or_delete_own_article_once_out_of_draft(
    client, users, headers, status
):
    article = make_article("Out of my hands", status=status, author=users["writer"])
    url = f"{API}/articles/{article.id}"
    patch = client.patch(url, json={"title": "Sneaky edit"},
                         headers={**headers["writer"], **_etag(article)})
    assert patch.status_code == 403
    assert client.delete(url, headers=headers["writer"]).status_code == 403
    # Reading stays allowed, and the article is unchanged.
    read = client.get(url, headers=headers["writer"])
    assert read.status_code == 200
    assert read.get_json()["title"] == "Out of my hands"


def test_writer_cannot_bring_back_an_archived_article(client, users, headers):
    article = make_article("Archived piece", status="archived", author=users["writer"])
    response = client.post(f"{API}/articles/{article.id}/restore-draft",
                           headers={**headers["writer"], **_etag(article)})
    assert response.status_code == 403


def test_writer_acting_on_someone_elses_article_gets_403_with_a_reason(client, users, headers):
    article = make_article("Not yours", status="draft", author=users["writer"])
    response = client.get(f"{API}/articles/{article.id}", headers=headers["writer2"])
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "own" in response.get_json()["detail"]


def test_writer_cannot_publish_own_draft_even_with_schedule(client, users, headers):
    article = make_article("Eager writer", status="draft", author=users["writer"])
    response = client.post(
        f"{API}/articles/{article.id}/publish",
        json={"publish_at": "2099-01-01T00:00:00Z"},
        headers={**headers["writer"], **_etag(article)},
    )
    assert response.status_code == 403
    db.session.refresh(article)
    assert article.status == "draft"


def test_admin_cannot_change_own_role_or_deactivate_or_delete_self(client, users, headers):
    url = f"{API}/users/{users['admin'].id}"
    assert client.patch(url, json={"role": "writer"}, headers=headers["admin"]).status_code == 403
    assert client.patch(url, json={"is_active": False},
                        headers=headers["admin"]).status_code == 403
    assert client.delete(url, headers=headers["admin"]).status_code == 403
    me = client.get(f"{API}/auth/me", headers=headers["admin"]).get_json()
    assert me["role"] == "admin" and me["is_active"] is True


def test_role_change_takes_effect_on_the_next_request(client, users, headers):
    article = make_article("Ready to go", status="in_review", author=users["writer"])
    response = client.patch(f"{API}/users/{users['writer'].id}", json={"role": "editor"},
                            headers=headers["admin"])
    assert response.status_code == 200
    assert response.get_json()["role"] == "editor"
    publish = client.post(f"{API}/articles/{article.id}/publish",
                          headers={**headers["writer"], **_etag(article)})
    assert publish.status_code == 200


def test_users_are_listed_without_password_hashes(client, users, headers):
    body = client.get(f"{API}/users", headers=headers["admin"]).get_json()
    assert {u["email"] for u in body["data"]} == {u.email for u in users.values()}
    assert all("password" not in u and "password_hash" not in u for u in body["data"])
