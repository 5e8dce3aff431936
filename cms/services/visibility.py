"""The one place that decides what the public may see.

An article is public when its status is ``published`` or ``scheduled`` and its ``published_at``
is not in the future. Scheduled articles therefore go live on time with no job running. Every
public query starts from :func:`public_articles` (or uses :func:`is_public`).

Copies of visibility kept for speed are defined here too. An article is *listed* when its
status is public and it has a ``published_at``: public now, or once its time comes. Then
``public = listed and not scheduled_later``, so the count of public articles is the count of
listed ones minus the few still to come (``cms.services.public.counts`` keeps the first per
section, tag, author and source; reads subtract the second). The link tables carry the
article's :func:`listed_at`, so a tag's articles are read in publication order from its index.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.sql import operators

from cms.clock import utcnow
from cms.models import Article, SlugRedirect, Takedown

PUBLIC_STATUSES = ("published", "scheduled")
# Removed from public view by an admin: invisible like a draft, but its own public URLs answer
# 410 Gone with the reason (:func:`takedown_of`), never 404 and never the content.
TAKEN_DOWN = "taken_down"


def public_status(status: sa.ColumnElement | None = None) -> sa.ColumnElement[bool]:
    """``status IN ('published', 'scheduled')`` of ``status`` (default: ``Article.status``).

    The values are written into the SQL, not bound as a list: an expanding parameter is
    re-rendered on every execution of a statement built once (~50 µs of CPU per statement),
    and these are constants of the code."""
    status = Article.status if status is None else status
    return status.in_([sa.literal_column(f"'{value}'") for value in PUBLIC_STATUSES])


def public_condition(
    now: datetime | sa.BindParameter | None = None, *, article=None
) -> sa.ColumnElement[bool]:
    """``now`` may be a bound parameter, for statements built once and run with a time.
    ``article``: an alias of ``Article``, in a statement that reads two articles."""
    article = Article if article is None else article
    return sa.and_(
        public_status(article.status),
        article.published_at <= (utcnow() if now is None else now),
    )


def public_articles(now: datetime | sa.BindParameter | None = None) -> sa.Select:
    """``SELECT`` of the articles the public may see right now."""
    return sa.select(Article).where(public_condition(now))


def listed_condition() -> sa.ColumnElement[bool]:
    """Public now or later: what ``listed_count`` of sections, tags, authors, sources counts."""
    return sa.and_(public_status(), Article.published_at.is_not(None))


def scheduled_later(
    now: datetime | sa.BindParameter | None = None,
) -> sa.ColumnElement[bool]:
    """Listed but not public yet: ``listed_condition() and not public_condition(now)``
    (``now`` as :func:`public_condition` takes it)."""
    return sa.and_(public_status(), Article.published_at > (utcnow() if now is None else now))


def link_scheduled_later(
    listed_at: sa.ColumnElement, now: datetime | sa.BindParameter | None = None
) -> sa.ColumnElement[bool]:
    """:func:`scheduled_later` on a link table's copy ``listed_at`` (see :func:`listed_at`)."""
    return listed_at > (utcnow() if now is None else now)


def listed_at() -> sa.ColumnElement:
    """SQL: what the link rows of an article carry as ``listed_at``: its ``published_at`` while
    its status is public, else NULL. Where it is not NULL it equals ``articles.published_at``."""
    return sa.case((public_status(), Article.published_at), else_=sa.null())


def link_condition(link: sa.Table, query: sa.Select) -> sa.ColumnElement[bool]:
    """Join condition of ``link`` (a link table with ``article_id`` and ``listed_at``) to the
    articles ``query`` selects, for a filter by one of the link's entities.

    ``query`` selects visible articles, so each is listed and its links' ``listed_at`` equals
    its ``published_at``; each bound ``query`` sets on ``published_at`` holds for ``listed_at``
    as well. Both are implied and change no result; with them the database reads the link
    index ``(entity, listed_at, article_id)`` backwards from the bound, in the list's order
    (PostgreSQL orders by ``articles.published_at`` through the equality), instead of walking
    all recent articles and probing the link table for each.

    The article is matched as ``id BETWEEN article_id AND article_id``, not ``id = article_id``:
    PostgreSQL multiplies the selectivities of two equalities between the same rows (one in a
    million each) and expects no row at all; it then prefers parallel or JIT-compiled plans
    that cost 10-400 ms at 1M articles. A range estimates as loosely as it should.
    """
    published_at = Article.__table__.c.published_at
    conditions = [
        Article.id.between(link.c.article_id, link.c.article_id),
        link.c.listed_at == Article.published_at,
    ]
    for term in _conjuncts(query.whereclause):
        if (
            isinstance(term, sa.BinaryExpression)
            and term.operator in _BOUNDS
            and isinstance(term.right, sa.BindParameter)
            and term.left.compare(published_at)
        ):
            conditions.append(term.operator(link.c.listed_at, term.right))
    return sa.and_(*conditions)


_BOUNDS = (operators.lt, operators.le, operators.gt, operators.ge)


def _conjuncts(clause):
    """The terms of a WHERE clause that must all hold (nested ANDs flattened)."""
    if clause is None:
        return
    if isinstance(clause, sa.sql.elements.Grouping):
        yield from _conjuncts(clause.element)
    elif isinstance(clause, sa.BooleanClauseList) and clause.operator is operators.and_:
        for part in clause.clauses:
            yield from _conjuncts(part)
    else:
        yield clause


def listed_at_of(status: str, published_at: datetime | None) -> datetime | None:
    """:func:`listed_at` of an article with this status and publication time, in Python."""
    return published_at if status in PUBLIC_STATUSES else None


def is_public(article: Article, now: datetime | None = None) -> bool:
    return (
        article.status in PUBLIC_STATUSES
        and article.published_at is not None
        and article.published_at <= (now or utcnow())
    )


def takedown_of(slug: str) -> Takedown | None:
    """The takedown in force of the article that has (or had) ``slug``, if it is taken down."""
    from cms.extensions import db

    article_id = db.session.scalar(
        sa.select(Article.id).where(Article.slug == slug, Article.status == TAKEN_DOWN)
    )
    if article_id is None:
        redirect = db.session.get(SlugRedirect, slug)
        if redirect is None:
            return None
        article_id = db.session.scalar(
            sa.select(Article.id).where(
                Article.id == redirect.article_id, Article.status == TAKEN_DOWN
            )
        )
        if article_id is None:
            return None
    return db.session.scalar(
        sa.select(Takedown)
        .where(Takedown.article_id == article_id, Takedown.revoked_at.is_(None))
        .order_by(Takedown.id.desc())
        .limit(1)
    )
