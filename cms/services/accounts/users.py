"""Logins (users): created by admins or the CLI."""

from __future__ import annotations

import sqlalchemy as sa

from cms.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Author, LoginSession, User
from cms.pagination import keyset_page
from cms.services.accounts import audit


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "The password is too short.",
            errors={"password": [f"Use at least {MIN_PASSWORD_LENGTH} characters."]},
        )


def _author(slug: str | None) -> Author | None:
    if slug is None:
        return None
    author = db.session.scalar(sa.select(Author).where(Author.slug == slug))
    if author is None:
        raise ValidationFailed("Unknown author.", errors={"author": [f"Unknown author '{slug}'."]})
    return author


def create_user(
    email: str, password: str, role: str, *, author: str | None = None, actor: User | None = None
) -> User:
    """Create a login. ``actor`` is None only for the CLI (the machine's operator)."""
    if actor is not None:
        authorize(actor, "user:manage")
    email = normalize_email(email)
    _check_password(password)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this email exists.", errors={"email": ["Already in use."]})
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        is_active=True,
        author=_author(author),
    )
    db.session.add(user)
    db.session.flush()
    audit.log("user.create", "user", user.id, actor, {"email": email, "role": role})
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.")
    return user


def update_user(user: User, data: dict, *, actor: User) -> User:
    authorize(actor, "user:manage")
    if user.id == actor.id and (
        "role" in data and data["role"] != user.role or data.get("is_active") is False
    ):
        raise Forbidden("Admins cannot change their own role or deactivate themselves.")
    if "email" in data:
        email = normalize_email(data["email"])
        other = db.session.scalar(sa.select(User).where(User.email == email))
        if other is not None and other.id != user.id:
            raise Conflict("A user with this email exists.", errors={"email": ["Already in use."]})
        user.email = email
    if "password" in data:
        _check_password(data["password"])
        user.password_hash = hash_password(data["password"])
        revoke_all_sessions(user, reason="password-changed")
    if "role" in data:
        user.role = data["role"]
    if "is_active" in data:
        user.is_active = data["is_active"]
        if not user.is_active:
            revoke_all_sessions(user, reason="deactivated")
    if "author" in data:
        user.author = _author(data["author"])
    audit.log("user.update", "user", user.id, actor, {"changed": sorted(data)})
    return user


def delete_user(user: User, *, actor: User) -> None:
    authorize(actor, "user:manage")
    if user.id == actor.id:
        raise Forbidden("Admins cannot delete themselves.")
    audit.log("user.delete", "user", user.id, actor, {"email": user.email})
    db.session.delete(user)


def revoke_all_sessions(user: User, *, reason: str) -> None:
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def list_users(actor: User, *, limit: int, cursor: list | None = None, count: bool = False):
    """All logins, by id (admins only)."""
    authorize(actor, "user:manage")
    return keyset_page(
        sa.select(User), User.id, descending=False, limit=limit, cursor=cursor, count=count
    )
