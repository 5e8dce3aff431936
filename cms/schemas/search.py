"""Search query and result schemas of the public API."""

from __future__ import annotations

import math
from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from cms.schemas.articles.public import ArticleCard, ArticleFilters
from cms.schemas.common import Cursor, NamedChoice, PageMeta, PageQuery
from cms.services.search.query import MAX_QUERY_CHARS, QueryError, parse_query
from cms.services.search.service import NEWEST_CURSOR, RANK_WINDOW, SOME_CURSOR, SORTS

QUERY_HELP = (
    "What to search for. Words are all required and matched in any inflection the language's "
    'stemmer knows; `"a phrase"` matches the words in order; `word*` matches words starting '
    "with it (at least 3 letters); `a OR b` matches either; `-word` excludes. The articles "
    "that have every word come first; after them, those that have some of the words "
    "(`all_words: false`; with `sort=newest`, only when no article has every word). At most "
    f"{MAX_QUERY_CHARS} characters."
)


class SearchText(fields.String):
    """The ``q`` parameter, parsed: 400 when it holds nothing to search for."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_query(raw)
        except QueryError as exc:
            raise ma.ValidationError(str(exc)) from exc


class SearchCursor(Cursor):
    def __init__(self, **kwargs):
        super().__init__(kinds=(str, datetime, int), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        score, published_at, article_id = super()._deserialize(value, attr, data, **kwargs)
        some = score.startswith(SOME_CURSOR)
        score = score.removeprefix(SOME_CURSOR)
        if score == NEWEST_CURSOR:
            return [None, published_at, article_id, some]
        try:
            number = float(score)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ma.ValidationError("Invalid cursor.")
        return [number, published_at, article_id, some]


class SearchQuery(PageQuery, ArticleFilters):
    q = SearchText(required=True, metadata={"description": QUERY_HELP})
    cursor = SearchCursor()
    sort = fields.String(
        load_default="relevance",
        validate=validate.OneOf(SORTS),
        metadata={
            "description": "`relevance` (default): best match first, ranking the "
            f"{RANK_WINDOW:,} newest matches (older ones are reached with `sort=newest` or the "
            "date filters); `newest`: every match, newest first (the articles with every word; "
            "when there is none, those with some of them). A cursor continues only the sort it "
            "came from."
        },
    )


class SearchMeta(PageMeta):
    matched = fields.String(
        required=True,
        validate=NamedChoice("SearchMatch", ("all", "some", "any")),
        metadata={
            "description": "How the page's hits match a query of several words: `all`: each "
            "has every word (or the page is empty); `some`: those with every word come first, "
            "then those with some of them; `any`: none has every word. See `all_words`."
        },
    )


class SearchHit(ArticleCard):
    score = fields.Float(
        metadata={"description": "Relevance; compare only within one result list."}
    )
    snippet = fields.String(
        metadata={
            "description": "Text around the hits; hits are marked `<mark>…</mark>`, all other "
            "text is HTML-escaped."
        }
    )
    all_words = fields.Boolean(
        metadata={
            "description": "Whether the article has every word of the query. Those that have "
            "only some of them are listed after all that have every word."
        }
    )
