"""Sections, tags, authors and sources as the public sees them, each with the number of its
visible articles (no HTTP here)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from cms.clock import utcnow
from cms.errors import NotFound
from cms.extensions import db
from cms.models import (
    Article,
    ArticleAuthor,
    ArticleSource,
    Author,
    Section,
    Source,
    Tag,
    article_tags,
)
from cms.pagination import Page, encode_cursor
from cms.services.public.reading import LINK_FILTERS
from cms.services.visibility import link_scheduled_later, scheduled_later


def _count_query(kind: str, now: datetime):
    """``SELECT entity, count of its visible articles`` for one taxonomy.

    The entry's ``listed_count`` (articles public now or scheduled for later) minus its
    articles still to come (``cms.services.public.counts``). Those are index range scans of
    ``published_at > now`` only: per tag, author or source on its link index; for sections
    one pass over ``ix_articles_status_published``. The cost follows the number of articles
    scheduled for later, not the number of articles.
    """
    model = TAXONOMY_MODELS[kind]
    if kind == "sections":
        later = (
            sa.select(Article.section_id, sa.func.count().label("n"))
            .where(scheduled_later(now))
            .group_by(Article.section_id)
            .subquery()
        )
        count = model.listed_count - sa.func.coalesce(later.c.n, 0)
        query = sa.select(model, count.label("article_count")).outerjoin(
            later, later.c.section_id == model.id
        )
        return model, query
    _, link, link_target = LINK_FILTERS[kind[:-1]]
    later = (
        sa.select(sa.func.count())
        .select_from(link)
        .where(link_target == model.id, link_scheduled_later(link.c.listed_at, now))
    )
    count = model.listed_count - later.scalar_subquery()
    return model, sa.select(model, count.label("article_count"))


# The ids of every article (any status) carrying an entry, by the entry's model: what a rename
# or deletion of the entry changes (its articles' cards and events).
ARTICLES_OF = {
    Section: lambda ident: sa.select(Article.id).where(Article.section_id == ident),
    Tag: lambda ident: sa.select(article_tags.c.article_id).where(article_tags.c.tag_id == ident),
    Author: lambda ident: sa.select(ArticleAuthor.article_id).where(
        ArticleAuthor.author_id == ident
    ),
    Source: lambda ident: sa.select(ArticleSource.article_id).where(
        ArticleSource.source_id == ident
    ),
}

TAXONOMY_MODELS = {"sections": Section, "tags": Tag, "authors": Author, "sources": Source}


def list_taxonomy(
    kind: str,
    *,
    limit: int,
    cursor: list | None = None,
    count: bool = False,
    now: datetime | None = None,
) -> Page:
    """Entries ordered by slug, each with ``article_count`` of visible articles."""
    now = now or utcnow()
    model, query = _count_query(kind, now)
    if cursor:
        query = query.where(model.slug > cursor[0])
    rows = db.session.execute(query.order_by(model.slug).limit(limit + 1)).all()
    items = [_with_count(obj, n) for obj, n in rows[:limit]]
    next_cursor = encode_cursor([rows[limit - 1][0].slug]) if len(rows) > limit else None
    total = db.session.scalar(sa.select(sa.func.count()).select_from(model)) if count else None
    return Page(items=items, limit=limit, next_cursor=next_cursor, total=total)


def get_taxonomy(kind: str, slug: str, now: datetime | None = None):
    model, query = _count_query(kind, now or utcnow())
    row = db.session.execute(query.where(model.slug == slug)).first()
    if row is None:
        raise NotFound(f"There is no {kind[:-1]} '{slug}'.")
    return _with_count(*row)


def _with_count(obj, n: int):
    obj.article_count = n
    return obj
