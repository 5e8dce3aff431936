"""Editor authentication: login, refresh rotation, logout, token checks, rate limits, CLI."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt as pyjwt
import pytest
import sqlalchemy as sa

from cms.extensions import db
from cms.models import User
from tests.conftest import PASSWORD, auth_headers, bearer, login, make_user

LOGIN = "/api/v1/editor/auth/login"
REFRESH = "/api/v1/editor/auth/refresh"
LOGOUT = "/api/v1/editor/auth/logout"
ME = "/api/v1/editor/auth/me"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _assert_401(response):
    assert response.status_code == 401, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 401 and body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return body


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


# --- login ------------------------------------------------------------------------------------


def test_login_returns_access_and_refresh_tokens(client, users):
    response = client.post(LOGIN, json={"email": "Editor@Example.ORG", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"] != body["refresh_token"]
    assert _claims(body["access_token"])["type"] == "access"
    assert _claims(body["refresh_token"])["type"] == "refresh"

    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.headers["Cache-Control"] == "no-store"
    profile = me.get_json()
    assert profile["email"] == "editor@example.org"
    assert profile["role"] == "editor"
    assert profile["author"] == {"slug": "ed-itor", "name": "Ed Itor"}
    assert "password" not in profile and "password_hash" not in profile


def test_wrong_password_and_unknown_email_look_the_same(client, users):
    wrong = client.post(LOGIN, json={"email": "editor@example.org", "password": "nope-nope-nope"})
    unknown = client.post(LOGIN, json={"email": "nobody@example.org", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert "access_token" not in response.get_json()
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"]


def test_deactivated_user_cannot_log_in(client, users):
    users["writer"].is_active = False
    db.session.commit()
    response = client.post(LOGIN, json={"email": "writer@example.org", "password": PASSWORD})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "editor@example.org"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "editor@example.org", "password": PASSWORD, "remember": True}, "remember"),
    ],
)
def test_malformed_login_is_422_with_field_errors(client, users, payload, field):
    response = client.post(LOGIN, json=payload)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]


# --- refresh and logout -----------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_whole_login(client, users):
    first = login(client, "writer@example.org")
    response = client.post(REFRESH, headers=bearer(first["refresh_token"]))
    assert response.status_code == 200, response.get_json()
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200

    # The used refresh token no longer works ...
    _assert_401(client.post(REFRESH, headers=bearer(first["refresh_token"])))
    # ... and presenting it revoked the whole login, new tokens included.
    _assert_401(client.get(ME, headers=bearer(second["access_token"])))
    _assert_401(client.post(REFRESH, headers=bearer(second["refresh_token"])))
    # Another login of the same user is not affected.
    other = login(client, "writer@example.org")
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200


def test_refresh_can_be_chained(client, users):
    tokens = login(client, "editor@example.org")
    for _ in range(3):
        response = client.post(REFRESH, headers=bearer(tokens["refresh_token"]))
        assert response.status_code == 200
        tokens = response.get_json()
    assert client.get(ME, headers=bearer(tokens["access_token"])).status_code == 200


def test_access_token_cannot_refresh(client, users):
    tokens = login(client, "editor@example.org")
    _assert_401(client.post(REFRESH, headers=bearer(tokens["access_token"])))


def test_logout_revokes_access_and_refresh_token(client, users):
    tokens = login(client, "editor@example.org")
    other = login(client, "editor@example.org")
    response = client.post(LOGOUT, headers=bearer(tokens["access_token"]))
    assert response.status_code == 204
    _assert_401(client.get(ME, headers=bearer(tokens["access_token"])))
    _assert_401(client.get("/api/v1/editor/articles", headers=bearer(tokens["access_token"])))
    _assert_401(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))
    # Only this login ends; the user's other session goes on.
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200


def test_logout_with_the_refresh_token_also_ends_the_login(client, users):
    tokens = login(client, "editor@example.org")
    assert client.post(LOGOUT, headers=bearer(tokens["refresh_token"])).status_code == 204
    _assert_401(client.get(ME, headers=bearer(tokens["access_token"])))


# --- refused tokens ---------------------------------------------------------------------------


def test_missing_token_is_401_problem_with_www_authenticate(client, users):
    body = _assert_401(client.get(ME))
    assert "Bearer" in body["detail"]
    _assert_401(client.get("/api/v1/editor/articles"))
    _assert_401(client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}))


def test_garbage_token_is_401(client, users):
    _assert_401(client.get(ME, headers=bearer("not.a.jwt")))
    _assert_401(client.get(ME, headers=bearer("abc")))


def test_expired_access_token_is_401(app, client, users, monkeypatch):
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=-1))
    tokens = login(client, "editor@example.org")
    monkeypatch.undo()
    body = _assert_401(client.get(ME, headers=bearer(tokens["access_token"])))
    assert "expired" in body["detail"]
    # The refresh token of that login still gives a fresh, working access token.
    fresh = client.post(REFRESH, headers=bearer(tokens["refresh_token"])).get_json()
    assert client.get(ME, headers=bearer(fresh["access_token"])).status_code == 200


def test_tampered_signature_is_401(client, users):
    token = login(client, "writer@example.org")["access_token"]
    header, payload, _signature = token.split(".")
    forged = pyjwt.encode(_claims(token), "some-other-secret-of-sufficient-length!!", "HS256")
    _assert_401(client.get(ME, headers=bearer(f"{header}.{payload}.{forged.split('.')[2]}")))


def test_tampered_claims_are_401(client, users):
    """A writer cannot promote themselves by editing the payload."""
    token = login(client, "writer@example.org")["access_token"]
    header, _payload, signature = token.split(".")
    claims = {**_claims(token), "role": "admin", "sub": str(users["admin"].id)}
    _assert_401(client.get(ME, headers=bearer(f"{header}.{_b64(claims)}.{signature}")))


def test_alg_none_token_is_401(client, users):
    token = login(client, "admin@example.org")["access_token"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(token))}."
    _assert_401(client.get(ME, headers=bearer(unsigned)))


@pytest.mark.filterwarnings("ignore:The HMAC key")
def test_token_signed_with_another_algorithm_is_401(client, users):
    token = login(client, "admin@example.org")["access_token"]
    other = pyjwt.encode(_claims(token), SECRET, algorithm="HS512")
    _assert_401(client.get(ME, headers=bearer(other)))


def test_refresh_token_is_not_an_access_token(client, users):
    tokens = login(client, "admin@example.org")
    _assert_401(client.get(ME, headers=bearer(tokens["refresh_token"])))
    _assert_401(client.get("/api/v1/editor/users", headers=bearer(tokens["refresh_token"])))


def test_token_of_a_deactivated_user_is_401(client, users, headers):
    users["writer"].is_active = False
    db.session.commit()
    _assert_401(client.get(ME, headers=headers["writer"]))
    _assert_401(client.get("/api/v1/editor/articles", headers=headers["writer"]))


def test_deactivation_by_an_admin_ends_the_users_logins(client, users, headers):
    tokens = login(client, "writer@example.org")
    response = client.patch(
        f"/api/v1/editor/users/{users['writer'].id}",
        json={"is_active": False},
        headers=headers["admin"],
    )
    assert response.status_code == 200
    _assert_401(client.get(ME, headers=headers["writer"]))
    _assert_401(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))


def test_token_of_a_deleted_user_is_401(client, users, headers):
    tokens = login(client, "other-writer@example.org")
    response = client.delete(
        f"/api/v1/editor/users/{users['writer2'].id}", headers=headers["admin"]
    )
    assert response.status_code == 204
    _assert_401(client.get(ME, headers=headers["writer2"]))
    _assert_401(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))


def test_password_change_ends_existing_logins(client, users, headers):
    response = client.patch(
        f"/api/v1/editor/users/{users['writer'].id}",
        json={"password": "a brand new passphrase"},
        headers=headers["admin"],
    )
    assert response.status_code == 200
    _assert_401(client.get(ME, headers=headers["writer"]))
    login(client, "writer@example.org", "a brand new passphrase")


# --- rate limits ------------------------------------------------------------------------------


def _fail(client, email="editor@example.org"):
    return client.post(LOGIN, json={"email": email, "password": "wrong password!"})


def test_five_failed_logins_per_account_then_429(client, users):
    for _ in range(5):
        assert _fail(client).status_code == 401
    response = _fail(client)
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 429
    assert int(response.headers["Retry-After"]) > 0
    # Even the right password waits now ...
    blocked = client.post(LOGIN, json={"email": "editor@example.org", "password": PASSWORD})
    assert blocked.status_code == 429
    # ... while other accounts are not affected.
    login(client, "writer@example.org")


def test_account_limit_ignores_the_case_of_the_email(client, users):
    for email in ("editor@example.org", "EDITOR@example.org", "Editor@Example.org",
                  "editor@EXAMPLE.org", "eDitor@example.org"):
        assert _fail(client, email).status_code == 401
    assert _fail(client).status_code == 429


def test_successful_logins_do_not_count_as_failures(client, users):
    for _ in range(4):
        assert _fail(client).status_code == 401
    for _ in range(3):
        login(client, "editor@example.org")
    assert _fail(client).status_code == 401  # the fifth failure
    assert _fail(client).status_code == 429


def test_unknown_accounts_are_limited_too(client, users):
    for _ in range(5):
        assert _fail(client, "ghost@example.org").status_code == 401
    assert _fail(client, "ghost@example.org").status_code == 429


# --- CLI --------------------------------------------------------------------------------------


def test_cli_user_create_reads_password_from_stdin(app, client, taxonomy):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "--email", "Chief@Example.org", "--role", "admin",
              "--author", "ed-itor"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "chief@example.org" in result.output
    me = client.get(ME, headers=auth_headers(client, "chief@example.org", "a long enough password"))
    me = me.get_json()
    assert me["role"] == "admin"
    assert me["author"]["slug"] == "ed-itor"


def test_cli_refuses_a_short_password(app, taxonomy):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "--email", "short@example.org"], input="short\n"
    )
    assert result.exit_code != 0
    assert "too short" in result.output
    assert "at least 10 characters" in result.output
    assert db.session.scalar(sa.select(User).where(User.email == "short@example.org")) is None


def test_cli_refuses_a_taken_email(app, users):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "--email", "editor@example.org"], input="another long password\n"
    )
    assert result.exit_code != 0
    assert "exists" in result.output


def test_cli_created_writer_can_log_in(app, client, taxonomy):
    make_user("admin")  # unrelated account, to be sure the right one is found
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "--email", "new@example.org"], input="writer password 123\n"
    )
    assert result.exit_code == 0, result.output
    writer = auth_headers(client, "new@example.org", "writer password 123")
    assert client.get(ME, headers=writer).get_json()["role"] == "writer"
