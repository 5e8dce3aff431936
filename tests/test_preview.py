"""Draft previews: a signed, expiring, revocable link shows the draft as readers will see it."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from cms.extensions import db
from tests.conftest import make_article

BASE = "/api/v1/editor/articles"


def _issue(client, headers, article_id):
    response = client.post(f"{BASE}/{article_id}/preview", headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_preview_shows_the_draft_as_the_public_detail_will(client, headers, users, clock):
    draft = make_article("Secret merger talks", status="draft", author=users["writer"])
    link = _issue(client, headers["writer"], draft.id)
    assert link["url"] == f"/api/v1/preview/{link['token']}"
    expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    assert expires == clock.now + client.application.config["CMS_PREVIEW_TOKEN_TTL"]

    # The public API does not show the draft ...
    assert client.get(f"/api/v1/articles/{draft.slug}").status_code == 404
    # ... the preview link does, without a login, never cached or indexed.
    shown = client.get(link["url"])
    assert shown.status_code == 200, shown.get_json()
    assert shown.headers["Cache-Control"] == "no-store"
    assert "noindex" in shown.headers["X-Robots-Tag"]
    preview = shown.get_json()
    assert preview["title"] == "Secret merger talks"
    assert preview["status"] == "draft"  # a front end can label the preview honestly
    assert preview["published_at"] is None
    assert preview["body_text"] == draft.body_text
    assert preview["summary"]["tldr"]
    assert "email" not in str(preview)

    # It shows the current draft: an edit made after issuing the link is visible.
    etag = f'"a{draft.id}-v{draft.version}"'
    edited = client.patch(f"{BASE}/{draft.id}", json={"title": "Merger talks stall"},
                          headers={**headers["writer"], "If-Match": etag})
    assert edited.status_code == 200
    assert client.get(link["url"]).get_json()["title"] == "Merger talks stall"
    # formats= narrows the body formats like on the public detail.
    narrowed = client.get(link["url"], query_string={"formats": "text"}).get_json()
    assert "body_text" in narrowed and "body" not in narrowed and "body_html" not in narrowed


def test_preview_matches_the_public_detail_of_a_published_article(client, headers, users):
    article = make_article("Port handles record volume", author=users["editor"])
    link = _issue(client, headers["editor"], article.id)
    public = client.get(f"/api/v1/articles/{article.slug}").get_json()
    assert client.get(link["url"]).get_json() == public


def test_preview_of_one_article_does_not_open_another(client, headers, users):
    mine = make_article("Mine", status="draft", author=users["writer"])
    other = make_article("Other draft", status="draft", author=users["writer2"])
    link = _issue(client, headers["writer"], mine.id)
    assert client.get(link["url"]).get_json()["id"] == mine.id
    # Swapping the article id inside the token breaks the signature.
    payload, rest = link["token"].split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["a"] = other.id
    forged = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
    forged_token = forged.decode().rstrip("=") + "." + rest
    response = client.get(f"/api/v1/preview/{forged_token}")
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    # A writer cannot get a preview link for someone else's article.
    assert client.post(f"{BASE}/{other.id}/preview", headers=headers["writer"]).status_code == 403


def test_tampered_expired_and_revoked_tokens_are_refused(client, headers, users, clock):
    draft = make_article("Draft", status="draft", author=users["editor"])
    token = _issue(client, headers["editor"], draft.id)["token"]

    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/api/v1/preview/{tampered}").status_code == 401
    assert client.get("/api/v1/preview/not-a-token").status_code == 401

    ttl = client.application.config["CMS_PREVIEW_TOKEN_TTL"]
    clock.advance(seconds=ttl.total_seconds() - 60)
    assert client.get(f"/api/v1/preview/{token}").status_code == 200
    clock.advance(seconds=120)
    expired = client.get(f"/api/v1/preview/{token}")
    assert expired.status_code == 401
    assert "expired" in expired.get_json()["detail"]

    fresh = _issue(client, headers["editor"], draft.id)["token"]
    second = _issue(client, headers["editor"], draft.id)["token"]
    assert client.get(f"/api/v1/preview/{fresh}").status_code == 200
    revoked = client.delete(f"{BASE}/{draft.id}/preview", headers=headers["editor"])
    assert revoked.status_code == 204
    for old in (fresh, second):
        response = client.get(f"/api/v1/preview/{old}")
        assert response.status_code == 401
        assert "revoked" in response.get_json()["detail"]
        assert "noindex" in response.headers["X-Robots-Tag"]
    # A link issued after the revocation works again.
    newest = _issue(client, headers["editor"], draft.id)["token"]
    assert client.get(f"/api/v1/preview/{newest}").status_code == 200
    assert client.get(f"/api/v1/preview/{fresh}").status_code == 401


def test_a_token_signed_with_another_key_is_refused(client, headers, users, app):
    from itsdangerous import URLSafeTimedSerializer

    from cms.services.workflow.preview import SALT

    draft = make_article("Draft", status="draft", author=users["editor"])
    _issue(client, headers["editor"], draft.id)
    from cms.models import PreviewKey

    nonce = db.session.get(PreviewKey, draft.id).nonce
    forged = URLSafeTimedSerializer("another-secret-key-of-sufficient-length", salt=SALT).dumps(
        {"a": draft.id, "n": nonce})
    assert client.get(f"/api/v1/preview/{forged}").status_code == 401


def test_deleting_the_article_kills_its_preview(client, headers, users):
    draft = make_article("Draft", status="draft", author=users["editor"])
    url = _issue(client, headers["editor"], draft.id)["url"]
    assert client.delete(f"{BASE}/{draft.id}", headers=headers["editor"]).status_code == 204
    assert client.get(url).status_code == 401

