"""Loader options for serialising article cards without N+1 queries."""

from sqlalchemy.orm import selectinload

from cms.models import Article

CARD_LOADERS = (
    selectinload(Article.tags),
    selectinload(Article.author_links),
    selectinload(Article.source_links),
)
