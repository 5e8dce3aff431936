"""The corrections readers see: one article's, and the site-wide log (no HTTP here).

A detail page shows its article's corrections through ``reading.visible_corrections``."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from cms.clock import utcnow
from cms.extensions import db
from cms.models import Article, Correction, Section
from cms.pagination import Page, encode_cursor
from cms.services.public.reading import (
    CORRECTION_COLUMNS,
    KEYS_ONLY,
    CorrectionView,
    Moved,
    find_article,
    visible_corrections,
)
from cms.services.visibility import public_condition


def article_corrections(slug: str, now: datetime | None = None) -> list[CorrectionView] | Moved:
    """The visible corrections of the visible article ``slug`` (else Moved, Gone, NotFound)."""
    found = find_article(slug, now, load=KEYS_ONLY)
    if isinstance(found, Moved):
        return found
    return visible_corrections([found.id]).get(found.id, [])


class CorrectionRow(NamedTuple):
    """An entry of the site-wide log with the article it belongs to."""

    correction: CorrectionView
    article: ArticleRef


class ArticleRef(NamedTuple):
    id: int
    slug: str
    title: str
    published_at: datetime
    section: str | None


def list_corrections(
    *, limit: int, cursor: list | None = None, count: bool = False, now: datetime | None = None
) -> Page:
    """Site-wide, newest first: visible corrections of visible articles (keyset on id)."""
    query = (
        sa.select(
            *CORRECTION_COLUMNS,
            Article.id,
            Article.slug,
            Article.title,
            Article.published_at,
            Section.slug,
        )
        .join(Article, Article.id == Correction.article_id)
        .outerjoin(Section, Section.id == Article.section_id)
        .where(Correction.hidden_at.is_(None), public_condition(now or utcnow()))
    )
    total = None
    if count:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    if cursor:
        query = query.where(Correction.id < cursor[0])
    rows = db.session.execute(query.order_by(Correction.id.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor([rows[limit - 1][0]]) if len(rows) > limit else None
    width = len(CORRECTION_COLUMNS)
    items = [
        CorrectionRow(CorrectionView(*row[:width]), ArticleRef(*row[width:]))
        for row in rows[:limit]
    ]
    return Page(items=items, limit=limit, next_cursor=next_cursor, total=total)
