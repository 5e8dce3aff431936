"""Suggested related articles: precomputed on write, read with one indexed query."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from cms.extensions import db
from cms.models import Article, Suggestion
from cms.services.loaders import CARD_LOADERS
from cms.services.visibility import public_condition


def suggested(article: Article, *, limit: int, exclude: set[int], now: datetime):
    """``[(article, score, reason)]`` of visible suggestions, best first."""
    query = (
        sa.select(Article, Suggestion.score, Suggestion.reason)
        .join(Suggestion, Suggestion.target_id == Article.id)
        .where(Suggestion.article_id == article.id, public_condition(now))
        .order_by(Suggestion.score.desc(), Article.id)
        .limit(limit + len(exclude))
        .options(*CARD_LOADERS)
    )
    rows = [
        (a, round(score, 4), reason)
        for a, score, reason in db.session.execute(query)
        if a.id not in exclude
    ]
    return rows[:limit]
