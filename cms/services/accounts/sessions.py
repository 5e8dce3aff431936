"""Login sessions: sign in, refresh (rotating the refresh token), sign out.

Each login creates a ``LoginSession`` and its tokens (``cms.auth.tokens.issue``). A refresh
rotates the session's refresh token; presenting an already used refresh token revokes the whole
session. Logout revokes the session and with it every token of that login.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app

from cms.auth.passwords import verify_password
from cms.auth.tokens import issue
from cms.clock import utcnow
from cms.errors import Unauthorized
from cms.extensions import db
from cms.models import LoginSession, User
from cms.services.accounts import audit
from cms.services.accounts.users import normalize_email


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
    return issue(user, session)


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
    return issue(user, session)


def logout(claims: dict) -> None:
    session = db.session.get(LoginSession, claims.get("sid"))
    if session is not None and session.revoked_at is None:
        session.revoked_at = utcnow()
        session.revoked_reason = "logout"
        user = db.session.get(User, session.user_id)
        audit.log("auth.logout", "user", session.user_id, user, {"session": session.id})
