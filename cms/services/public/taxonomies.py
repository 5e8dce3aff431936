"""Sections, tags, authors and sources as the public sees them, each with the number of its
visible articles (no HTTP here)."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa

from cms.clock import utcnow
from cms.errors import NotFound
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
from cms.services.public.reading import LINK_FILTERS, read_rows
from cms.services.visibility import link_scheduled_later, scheduled_later


@functools.cache
def _statement(kind: str, by: str | None = None) -> sa.Select:
    """The entries of one taxonomy, each with ``article_count``, the number of its visible
    articles at the parameter ``now``, ordered by slug; built once per ``kind`` and ``by``:
    the first ``limit`` (``by=None``), the first ``limit`` after the slug ``after``
    (``by="after"``), or the one with ``slug`` (``by="slug"``). The rows have the model's
    columns (but ``listed_count``) and ``article_count``.

    The count is the entry's ``listed_count`` (articles public now or scheduled for later)
    minus its articles still to come (``cms.services.public.counts``). Those are index range
    scans of ``published_at > now`` only: per tag, author or source on its link index; for
    sections one pass over ``ix_articles_status_published``. The cost follows the number of
    articles scheduled for later, not the number of articles.
    """
    model = TAXONOMY_MODELS[kind]
    now = sa.bindparam("now", type_=Article.published_at.type)
    shown = [column for column in model.__table__.c if column.key != "listed_count"]
    if kind == "sections":
        later = (
            sa.select(Article.section_id, sa.func.count().label("n"))
            .where(scheduled_later(now))
            .group_by(Article.section_id)
            .subquery()
        )
        count = model.listed_count - sa.func.coalesce(later.c.n, 0)
        query = (
            sa.select(*shown, count.label("article_count"))
            .select_from(model)
            .outerjoin(later, later.c.section_id == model.id)
        )
    else:
        _, link, link_target = LINK_FILTERS[kind[:-1]]
        later = (
            sa.select(sa.func.count())
            .select_from(link)
            .where(link_target == model.id, link_scheduled_later(link.c.listed_at, now))
        )
        count = model.listed_count - later.scalar_subquery()
        query = sa.select(*shown, count.label("article_count")).select_from(model)
    if by == "slug":
        return query.where(model.slug == sa.bindparam("slug", type_=sa.String))
    if by == "after":
        query = query.where(model.slug > sa.bindparam("after", type_=sa.String))
    return query.order_by(model.slug).limit(sa.bindparam("limit", type_=sa.Integer))


@functools.cache
def _total(kind: str) -> sa.Select:
    return sa.select(sa.func.count()).select_from(TAXONOMY_MODELS[kind])


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
    """Entries ordered by slug, each with ``article_count`` of visible articles (rows of
    :func:`_statement`)."""
    params = {"now": now or utcnow(), "limit": limit + 1}
    if cursor:
        params["after"] = cursor[0]
    rows = read_rows(_statement(kind, "after" if cursor else None), params)
    next_cursor = encode_cursor([rows[limit - 1].slug]) if len(rows) > limit else None
    total = read_rows(_total(kind))[0][0] if count else None
    return Page(items=rows[:limit], limit=limit, next_cursor=next_cursor, total=total)


def get_taxonomy(kind: str, slug: str, now: datetime | None = None):
    """The entry with ``slug`` and its ``article_count`` (a row of :func:`_statement`)."""
    rows = read_rows(_statement(kind, "slug"), {"now": now or utcnow(), "slug": slug})
    if not rows:
        raise NotFound(f"There is no {kind[:-1]} '{slug}'.")
    return rows[0]
