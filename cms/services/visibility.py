"""The one place that decides what the public may see.

An article is public when its status is ``published`` or ``scheduled`` and its ``published_at``
is not in the future. Scheduled articles therefore go live on time with no job running. Every
public query starts from :func:`public_articles` (or uses :func:`is_public`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from cms.clock import utcnow
from cms.models import Article

PUBLIC_STATUSES = ("published", "scheduled")


def public_condition(now: datetime | None = None) -> sa.ColumnElement[bool]:
    return sa.and_(
        Article.status.in_(PUBLIC_STATUSES),
        Article.published_at <= (now or utcnow()),
    )


def public_articles(now: datetime | None = None) -> sa.Select:
    """``SELECT`` of the articles the public may see right now."""
    return sa.select(Article).where(public_condition(now))


def is_public(article: Article, now: datetime | None = None) -> bool:
    return (
        article.status in PUBLIC_STATUSES
        and article.published_at is not None
        and article.published_at <= (now or utcnow())
    )
