"""The related articles a reader sees next to an article: its curated links to visible
articles and URLs, then its stored suggestions, with its previous and next articles."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from cms.clock import utcnow
from cms.models import Article, RelatedLink
from cms.models.types import UTCDateTime
from cms.services.public import reading
from cms.services.public.reading import Moved
from cms.services.related import suggestions
from cms.services.visibility import public_articles


class Located(NamedTuple):
    """A visible article's keys, its previous and next, whether it has curated links and
    whether its own suggestion list is still to be computed (``suggestions.list_pending``);
    on PostgreSQL, with ``limit``, its stored suggestions for a ``related`` of that limit
    without curated links (``suggested``, for ``suggested_limit``)."""

    id: int
    slug: str
    section_id: int | None
    published_at: datetime
    has_links: bool
    list_pending: bool
    previous: reading.Neighbour | None
    next: reading.Neighbour | None
    suggested: tuple[suggestions.Suggested, ...] | None = None
    suggested_limit: int | None = None


def locate(
    slug: str, now: datetime | None = None, *, scope: str = "site", limit: int | None = None
) -> Located | Moved:
    """What ``related`` starts from for the visible article ``slug``, with its previous and
    next on the site or in its section, in one statement; else Moved or NotFound.

    Whether its suggestion list is pending is read here, before the list itself: a job the
    worker finishes in between has stored its list by then. On PostgreSQL, given the
    ``limit`` of the ``related`` to come, the same statement reads the stored suggestions that
    ``related`` reads when the article has no curated links (one row per suggestion)."""
    now = now or utcnow()
    lateral = reading.lateral_joins()
    with_suggested = lateral and limit is not None
    params = {"now": now, "slug": slug}
    if with_suggested:
        params["suggested"] = limit + 1  # ``suggestions.suggested``: excluding the article
    rows = reading.read_rows(_located(scope == "section", lateral, with_suggested), params)
    if not rows:
        return reading.moved_or_missing(slug, now)
    first = rows[0]
    located = Located(*first[:6], *reading.neighbours_of(first[6:14]))
    if not with_suggested:
        return located
    found = tuple(suggestions.Suggested(*row[14:]) for row in rows if row[14] is not None)
    return located._replace(suggested=found, suggested_limit=limit)


@functools.cache
def _located(in_section: bool, lateral: bool, with_suggested: bool) -> sa.Select:
    now = sa.bindparam("now", type_=UTCDateTime)
    query = (
        public_articles(now)
        .with_only_columns(
            Article.id,
            Article.slug,
            Article.section_id,
            Article.published_at,
            sa.exists().where(RelatedLink.article_id == Article.id).label("has_links"),
            suggestions.list_pending(Article.id).label("list_pending"),
        )
        .where(Article.slug == sa.bindparam("slug", type_=sa.String))
    )
    query = reading.with_neighbours(query, now, in_section=in_section, lateral=lateral)
    if not with_suggested:
        return query
    suggested = suggestions.suggested_lateral(
        Article.id, now, sa.bindparam("suggested", type_=sa.Integer)
    )
    return (
        query.add_columns(*suggested.c)
        .outerjoin_from(Article, suggested, sa.true())
        .order_by(suggested.c.score.desc(), suggested.c.id)
    )


@dataclass
class RelatedView:
    previous: Article | None
    next: Article | None
    related: list[dict] = field(default_factory=list)


# The curated links of an article (parameter ``article_id``): rows, not objects, so the
# targets are not loaded eagerly.
_LINKS = (
    sa.select(RelatedLink.target_id, RelatedLink.url, RelatedLink.title, RelatedLink.label)
    .where(RelatedLink.article_id == sa.bindparam("article_id", type_=sa.Integer))
    .order_by(RelatedLink.position)
)


def related(
    article: Article | Located,
    *,
    limit: int,
    scope: str = "site",
    now: datetime | None = None,
) -> RelatedView:
    """Curated links first (only to visible articles), then suggestions, up to ``limit``.

    ``article``: ``locate``'s answer (for the same ``scope``), or anything with its
    ``id``, ``section_id`` and ``published_at``.
    Suggested articles come as stored cards (``cards.CardRow``), curated ones as ``Card``."""
    now = now or utcnow()
    items: list[dict] = []
    links = []
    if getattr(article, "has_links", True):
        links = reading.read_rows(_LINKS, {"article_id": article.id})
    target_ids = [link.target_id for link in links if link.target_id is not None]
    targets = {}
    if target_ids:
        targets = {
            card.id: card
            for card in reading.read_cards(public_articles(now).where(Article.id.in_(target_ids)))
        }
    for link in links:
        if link.target_id is not None:
            target = targets.get(link.target_id)
            if target is None:
                continue
            items.append(
                {
                    "kind": "curated",
                    "article": target,
                    "url": None,
                    "title": link.title or target.title,
                    "label": link.label,
                    "score": None,
                    "reason": None,
                }
            )
        else:
            items.append(
                {
                    "kind": "curated",
                    "article": None,
                    "url": link.url,
                    "title": link.title,
                    "label": link.label,
                    "score": None,
                    "reason": None,
                }
            )
    items = items[:limit]
    if len(items) < limit:
        exclude = {article.id, *targets}
        pending, read = None, None
        if isinstance(article, Located):
            pending = article.list_pending
            if not links and article.suggested_limit == limit:  # read for this very case
                read = article.suggested
        for target, title, score, reason in suggestions.suggested(
            article,
            limit=limit - len(items),
            exclude=exclude,
            now=now,
            pending=pending,
            rows=read,
        ):
            items.append(
                {
                    "kind": "suggested",
                    "article": target,
                    "url": None,
                    "title": title,
                    "label": None,
                    "score": score,
                    "reason": reason,
                }
            )
    if isinstance(article, Located):  # read with its previous and next in ``scope``
        previous, following = article.previous, article.next
    else:
        previous, following = reading.neighbours(article, scope=scope, now=now)
    return RelatedView(previous=previous, next=following, related=items)
