"""Opaque keyset cursors, the page shape every collection returns, and keyset pages on one
unique column (the editor-side lists)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa

from cms.extensions import db

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class BadCursor(ValueError):
    pass


def encode_cursor(values: list[Any]) -> str:
    """Encode the sort key of the last item of a page."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(orjson.dumps(plain)).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    """Decode a cursor whose values have the given types (``datetime``, ``int``, ``str``)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise BadCursor("Invalid cursor.") from exc
    if not isinstance(values, list) or len(values) != len(kinds):
        raise BadCursor("Invalid cursor.")
    out = []
    for value, kind in zip(values, kinds, strict=True):
        if kind is datetime:
            try:
                parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                parsed = None
            if parsed is None or parsed.tzinfo is None:
                raise BadCursor("Invalid cursor.")
            out.append(parsed)
        elif kind is int:
            # bounded like the INTEGER columns it is compared with
            if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**31:
                raise BadCursor("Invalid cursor.")
            out.append(value)
        else:
            if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text has no NUL
                raise BadCursor("Invalid cursor.")
            out.append(value)
    return out


@dataclass
class Page:
    items: list
    limit: int
    next_cursor: str | None = None
    total: int | None = None
    extra: dict = field(default_factory=dict)


def keyset_page(
    query: sa.Select,
    column,
    *,
    descending: bool,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
) -> Page:
    """One page of ``query`` ordered by ``column``; the cursor holds the last value seen."""
    total = None
    if count:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    if cursor:
        query = query.where(column < cursor[0] if descending else column > cursor[0])
    order = column.desc() if descending else column.asc()
    rows = list(db.session.scalars(query.order_by(order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor([getattr(rows[limit - 1], column.key)])
    return Page(items=rows[:limit], limit=limit, next_cursor=next_cursor, total=total)
