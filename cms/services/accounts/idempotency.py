"""``Idempotency-Key`` on creates: a retried request gets the first answer, not a second write.

The remembered answer is stored in the same transaction as the write it describes, so after a
crash either both exist or neither does. Keys are per user and kept for ``KEY_TTL``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from cms.clock import utcnow
from cms.errors import CmsError, ValidationFailed
from cms.extensions import db
from cms.models import IdempotencyKey, User

KEY_TTL = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


class KeyReused(CmsError):
    status = 422
    type = "urn:cms:problem:idempotency-key-reused"


@dataclass(frozen=True)
class Remembered:
    status: int
    body: dict
    article_id: int | None


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 200 visible ASCII characters (a UUID is ideal).",
            errors={"Idempotency-Key": ["Invalid key."]},
        )
    return key


def fingerprint(payload) -> str:
    """What makes two requests "the same": their JSON, key order and spacing aside."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def lookup(user: User, key: str, print_: str) -> Remembered | None:
    """The answer remembered for this key, or None; a different request under it is a 422."""
    row = db.session.scalar(
        sa.select(IdempotencyKey).where(
            IdempotencyKey.user_id == user.id,
            IdempotencyKey.key == key,
            IdempotencyKey.created_at > utcnow() - KEY_TTL,
        )
    )
    if row is None:
        return None
    if row.fingerprint != print_:
        raise KeyReused(
            "This Idempotency-Key was already used for a different request; use a new key."
        )
    return Remembered(row.status_code, row.response_body, row.article_id)


def remember(
    user: User, key: str, print_: str, *, status: int, body: dict, article_id: int | None
) -> None:
    """Store the answer in the current transaction (the caller commits with its write).

    The user's expired keys go at the same time, so the table holds a day's keys at most.
    """
    db.session.execute(
        sa.delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user.id,
            IdempotencyKey.created_at <= utcnow() - KEY_TTL,
        )
    )
    db.session.add(
        IdempotencyKey(
            user_id=user.id,
            key=key,
            fingerprint=print_,
            status_code=status,
            response_body=body,
            article_id=article_id,
        )
    )
