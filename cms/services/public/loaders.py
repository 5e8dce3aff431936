"""Loader options for serialising article cards without N+1 queries."""

from sqlalchemy.orm import defer, selectinload

from cms.models import Article

# Relationships a card shows, each loaded for all rows in one query.
CARD_RELATIONS = (
    selectinload(Article.tags),
    selectinload(Article.author_links),
    selectinload(Article.source_links),
)

# A card never shows the body: leave its three renderings (the bulk of a row) in the database.
# Reading one of them later still works (one query per article), so load full articles with
# CARD_RELATIONS where a body is shown.
CARD_LOADERS = (
    *CARD_RELATIONS,
    defer(Article.body),
    defer(Article.body_html),
    defer(Article.body_text),
)
