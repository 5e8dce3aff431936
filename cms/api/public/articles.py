"""``/api/v1/articles``: list, detail, summary and related of published articles."""

from __future__ import annotations

from flask import redirect, request
from flask.views import MethodView

from cms.api.blueprint import Blueprint
from cms.api.public.caching import set_cache_tags
from cms.api.responses import json_response, page_response
from cms.errors import NotFound
from cms.schemas.articles import (
    FORMATS,
    ArticleCard,
    ArticleDetail,
    ArticleListQuery,
    CardDumper,
    DetailQuery,
    RelatedOut,
    RelatedQuery,
    StoredCardDumper,
    SummaryOut,
    detail_json,
    related_data,
    summary_data,
)
from cms.schemas.common import page_schema
from cms.services import documents, reading

blp = Blueprint(
    "public_articles",
    __name__,
    url_prefix="/api/v1/articles",
    description="Published articles, their summaries and related links.",
)

ArticlePage = page_schema(ArticleCard, "ArticlePage")
# The schemas document the responses; the hand-written dumpers beside them build the same
# documents faster (see cms/schemas/articles.py).
_stored_card = StoredCardDumper()


def _moved(slug: str, suffix: str = ""):
    """301 to the current slug, relative, keeping the query string."""
    location = f"{blp.url_prefix}/{slug}{suffix}"
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    response = redirect(location, code=301)
    response.autocorrect_location_header = False
    return response


@blp.route("")
class Articles(MethodView):
    @blp.query(ArticleListQuery, as_kwargs=True)
    @blp.response(200, ArticlePage)
    def get(self, limit, count, cursor=None, fields=None, **filters):
        """Published articles, newest first.

        Filter by section, tag, author, source, language and publication time; `fields=` picks
        the fields of each item; follow `meta.next_cursor` (or the `Link` header) for more.
        """
        set_cache_tags(
            ["list"]
            + ([f"section:{filters['section']}"] if "section" in filters else [])
            + ([f"tag:{filters['tag']}"] if "tag" in filters else [])
        )
        with reading.without_transaction():
            if fields:  # a subset of each card: built from the rows
                page = reading.list_articles(filters, limit=limit, cursor=cursor, count=count)
                return page_response(page, CardDumper(fields))
            page = reading.list_articles(
                filters, limit=limit, cursor=cursor, count=count, reader=documents.read_cards
            )
            return page_response(page, _stored_card)


def _last_modified(page):
    """The newest change the detail shows: article, summary, or a newly published neighbour."""
    times = [page.updated_at]
    if page.summary is not None:
        times.append(page.summary.updated_at)
    times += [n.published_at for n in (page.previous, page.next) if n is not None]
    return max(times)


@blp.route("/<slug>")
class ArticleBySlug(MethodView):
    @blp.query(DetailQuery, as_kwargs=True)
    @blp.response(200, ArticleDetail)
    @blp.alt_response(301, description="The article moved to a new slug (see Location).")
    @blp.alt_response(404, description="No published article has this slug.")
    def get(self, slug, formats=None):
        """One published article with its summary, sources, previous and next."""
        with reading.without_transaction():
            found = reading.read_article(slug)
        if isinstance(found, reading.Moved):
            return _moved(found.slug)
        section = found.section.slug if found.section else None
        set_cache_tags([f"article:{found.id}", *([f"section:{section}"] if section else [])])
        response = json_response(detail_json(found, tuple(formats) if formats else FORMATS))
        response.last_modified = _last_modified(found)
        return response


@blp.route("/<slug>/summary")
class ArticleSummary(MethodView):
    @blp.query()
    @blp.response(200, SummaryOut)
    @blp.alt_response(301, description="The article moved to a new slug.")
    @blp.alt_response(404, description="No published article (or no summary) for this slug.")
    def get(self, _query, slug):
        """The "No time to read?" summary."""
        with reading.without_transaction():
            found = reading.find_article(slug, load=reading.SUMMARY_ONLY)
            if isinstance(found, reading.Moved):
                return _moved(found.slug, "/summary")
            if found.summary is None:
                raise NotFound("This article has no summary.")
            set_cache_tags([f"article:{found.id}"])
            return json_response(summary_data(found.summary))


@blp.route("/<slug>/related")
class ArticleRelated(MethodView):
    @blp.query(RelatedQuery, as_kwargs=True)
    @blp.response(200, RelatedOut)
    @blp.alt_response(301, description="The article moved to a new slug.")
    @blp.alt_response(404, description="No published article has this slug.")
    def get(self, slug, limit, scope):
        """Previous/next and related articles: curated links first, then suggestions."""
        with reading.without_transaction():
            found = reading.find_article(slug, load=reading.KEYS_ONLY)
            if isinstance(found, reading.Moved):
                return _moved(found.slug, "/related")
            set_cache_tags([f"article:{found.id}"])
            return json_response(related_data(reading.related(found, limit=limit, scope=scope)))
