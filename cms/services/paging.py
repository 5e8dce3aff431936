"""Keyset pagination on one unique column, shared by the editor-side lists."""

from __future__ import annotations

import sqlalchemy as sa

from cms.extensions import db
from cms.pagination import Page, encode_cursor


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
