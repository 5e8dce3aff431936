"""Access and refresh tokens (flask-jwt-extended) tied to a stored login session.

Each login creates a ``LoginSession``; its tokens carry the session id (``sid``). A refresh
rotates the session's refresh token; presenting an already used refresh token revokes the whole
session. Logout revokes the session and with it every token of that login. Sessions live in the
database, so a revocation holds on every app process at once.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token

from cms.auth.passwords import verify_password
from cms.clock import utcnow
from cms.errors import Unauthorized
from cms.extensions import db, jwt
from cms.models import LoginSession, User
from cms.problems import problem
from cms.services import audit
from cms.services.users import normalize_email


def authenticate(email: str, password: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        # Recorded even though the request fails: committed here, before the error propagates.
        audit.log(
            "auth.login_failed",
            "user",
            user.id if user else None,
            None,
            {"email": normalize_email(email), "known_account": user is not None},
        )
        db.session.commit()
        raise Unauthorized("Invalid email or password.")
    return user


def _issue(user: User, session: LoginSession) -> dict:
    claims = {"sid": session.id, "role": user.role}
    refresh_jti = str(uuid.uuid4())
    session.refresh_jti = refresh_jti
    access = create_access_token(identity=str(user.id), additional_claims=claims)
    refresh = create_refresh_token(
        identity=str(user.id), additional_claims={**claims, "jti": refresh_jti}
    )
    lifetime = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
    }


def login(user: User) -> dict:
    now = utcnow()
    session = LoginSession(
        id=str(uuid.uuid4()),
        user_id=user.id,
        refresh_jti="",
        created_at=now,
        expires_at=now + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"],
    )
    db.session.add(session)
    audit.log("auth.login", "user", user.id, user, {"session": session.id})
    return _issue(user, session)


def refresh(user: User, claims: dict) -> dict:
    """Rotate the refresh token; a reused one revokes the whole login."""
    session = db.session.get(LoginSession, claims.get("sid"))
    if session is None or session.revoked_at is not None:
        raise Unauthorized("This login has been revoked; sign in again.")
    if claims["jti"] != session.refresh_jti:
        session.revoked_at = utcnow()
        session.revoked_reason = "refresh-token-reuse"
        audit.log("auth.refresh_reuse", "user", user.id, user, {"session": session.id})
        db.session.commit()
        raise Unauthorized("This refresh token was already used; the login has been revoked.")
    return _issue(user, session)


def logout(claims: dict) -> None:
    session = db.session.get(LoginSession, claims.get("sid"))
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = "logout"
        user = db.session.get(User, session.user_id)
        audit.log("auth.logout", "user", session.user_id, user, {"session": session.id})


def session_revoked(claims: dict) -> bool:
    session = db.session.get(LoginSession, claims.get("sid"))
    return session is None or session.revoked_at is not None


@jwt.user_lookup_loader
def _load_user(_header, claims) -> User | None:
    try:
        user = db.session.get(User, int(claims["sub"]))
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active:
        return None
    return user


@jwt.token_in_blocklist_loader
def _revoked(_header, claims) -> bool:
    return session_revoked(claims)


def _unauthorized(detail: str):
    response = problem(401, detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="editor"'
    return response


@jwt.expired_token_loader
def _expired(_header, _claims):
    return _unauthorized("The token has expired; refresh it or sign in again.")


@jwt.invalid_token_loader
def _invalid(reason: str):
    return _unauthorized(f"The token is invalid: {reason}.")


@jwt.unauthorized_loader
def _missing(reason: str):
    return _unauthorized("Send an access token: Authorization: Bearer <token>.")


@jwt.revoked_token_loader
def _revoked_answer(_header, _claims):
    return _unauthorized("The token has been revoked; sign in again.")


@jwt.user_lookup_error_loader
def _no_user(_header, _claims):
    return _unauthorized("The account of this token no longer exists or is deactivated.")
