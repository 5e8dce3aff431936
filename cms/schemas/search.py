"""Search query and result schemas of the public API."""

from __future__ import annotations

import math
from datetime import datetime

import marshmallow as ma
from marshmallow import fields, validate

from cms.schemas.articles.public import ArticleCard, ArticleFilters
from cms.schemas.common import Cursor, PageQuery
from cms.services.search.query import MAX_QUERY_CHARS, QueryError, parse_query
from cms.services.search.service import NEWEST_CURSOR, RANK_WINDOW, SORTS

QUERY_HELP = (
    "What to search for. Words are all required and matched in any inflection the language's "
    'stemmer knows; `"a phrase"` matches the words in order; `word*` matches words starting '
    "with it (at least 3 letters); `a OR b` matches either; `-word` excludes. At most "
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
        if score == NEWEST_CURSOR:
            return [None, published_at, article_id]
        try:
            number = float(score)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ma.ValidationError("Invalid cursor.")
        return [number, published_at, article_id]


class SearchQuery(PageQuery, ArticleFilters):
    q = SearchText(required=True, metadata={"description": QUERY_HELP})
    cursor = SearchCursor()
    sort = fields.String(
        load_default="relevance",
        validate=validate.OneOf(SORTS),
        metadata={
            "description": "`relevance` (default): best match first, ranking the "
            f"{RANK_WINDOW:,} newest matches (older ones are reached with `sort=newest` or the "
            "date filters); `newest`: every match, newest first. A cursor continues only the "
            "sort it came from."
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
