"""Draft preview links: signed, expiring, revocable tokens for one article (no HTTP here).

A token is ``{"a": article_id, "n": nonce}`` signed with the app's secret key (itsdangerous,
own salt) and timestamped; it is accepted while it is younger than ``CMS_PREVIEW_TOKEN_TTL`` and
its nonce is the article's current :class:`PreviewKey`. Revoking deletes that key, so every
token issued before stops working at once, on every process; the next preview gets a new key.
Timestamps come from ``cms.clock``, so tests can move time instead of sleeping.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import Unauthorized
from cms.extensions import db
from cms.models import Article, PreviewKey, User
from cms.services.accounts import audit

SALT = "cms.preview.v1"
URL_PREFIX = "/api/v1/preview"


class _ClockSigner(TimestampSigner):
    """Signs and checks ages with the application clock."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT, signer=_ClockSigner)


def _ttl() -> timedelta:
    return current_app.config["CMS_PREVIEW_TOKEN_TTL"]


@dataclass
class PreviewLink:
    url: str
    token: str
    expires_at: datetime


def issue(article: Article, *, actor: User) -> PreviewLink:
    """A new preview link for the article's current draft."""
    authorize(actor, "article:read", article)
    key = db.session.get(PreviewKey, article.id)
    if key is None:
        key = PreviewKey(
            article_id=article.id, nonce=secrets.token_urlsafe(24), created_at=utcnow()
        )
        db.session.add(key)
    token = _serializer().dumps({"a": article.id, "n": key.nonce})
    issued = datetime.fromtimestamp(int(utcnow().timestamp()), UTC)
    audit.log("article.preview", "article", article.id, actor)
    return PreviewLink(url=f"{URL_PREFIX}/{token}", token=token, expires_at=issued + _ttl())


def revoke(article: Article, *, actor: User) -> None:
    """Every preview link of this article issued so far stops working."""
    authorize(actor, "article:read", article)
    key = db.session.get(PreviewKey, article.id)
    if key is not None:
        db.session.delete(key)
    audit.log("article.preview_revoke", "article", article.id, actor)


def article_for(token: str) -> Article:
    """The article a valid preview token shows; :class:`Unauthorized` otherwise."""
    try:
        data = _serializer().loads(token, max_age=int(_ttl().total_seconds()))
    except SignatureExpired as exc:
        raise Unauthorized("This preview link has expired; ask for a new one.") from exc
    except BadSignature as exc:
        raise Unauthorized("This preview link is invalid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("a"), int):
        raise Unauthorized("This preview link is invalid.")
    key = db.session.get(PreviewKey, data["a"])
    if key is None or not secrets.compare_digest(key.nonce, str(data.get("n", ""))):
        raise Unauthorized("This preview link has been revoked.")
    article = db.session.get(Article, data["a"])
    if article is None:  # pragma: no cover - the key goes with the article
        raise Unauthorized("This preview link is invalid.")
    return article
