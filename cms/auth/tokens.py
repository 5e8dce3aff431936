"""Access and refresh tokens (flask-jwt-extended) tied to a stored login session.

Each login (``cms.services.accounts.sessions``) creates a ``LoginSession``; its tokens carry the
session id (``sid``). This module mints them and tells flask-jwt-extended how to check them: a
token of a revoked session is refused. Sessions live in the database, so a revocation holds on
every app process at once.
"""

from __future__ import annotations

import functools
import uuid

import sqlalchemy as sa
from flask import current_app, g
from flask_jwt_extended import create_access_token, create_refresh_token

from cms.extensions import db, jwt
from cms.models import LoginSession, User
from cms.problems import problem


def issue(user: User, session: LoginSession) -> dict:
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


def session_revoked(claims: dict) -> bool:
    """The token's login session is gone or revoked (in a request). Its user is read by the
    same statement, so the user lookup that follows (:func:`_load_user`) finds it in the
    session instead of reading it again."""
    sid = claims.get("sid")
    if not isinstance(sid, str | int) or isinstance(sid, bool):
        session = db.session.get(LoginSession, sid)
        return session is None or session.revoked_at is not None
    row = db.session.execute(_session_and_user(), {"sid": sid}).first()
    if row is None:
        return True
    # Held for the request: the session's identity map keeps objects only while referenced.
    g.token_user = row[1]
    return row[0] is not None


@functools.cache
def _session_and_user() -> sa.Select:
    """:func:`session_revoked`'s statement, built once; parameter ``sid``. The login session
    gives only its ``revoked_at``: no object of it is made."""
    return (
        sa.select(LoginSession.revoked_at, User)
        .select_from(LoginSession)
        .outerjoin(User, User.id == LoginSession.user_id)
        .where(LoginSession.id == sa.bindparam("sid"))
    )


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
