"""``/api/v1/articles``: list, detail, summary and related of published articles."""

from __future__ import annotations

import hashlib

import orjson
from flask import current_app, redirect, request
from flask.views import MethodView
from werkzeug.http import http_date, quote_etag

from cms.api.blueprint import ARTICLE_SLUG, FIRST_SLUG, Blueprint, public_article_links
from cms.api.responses import Answer, json_response, page_document
from cms.cache.http import set_cache_tags
from cms.errors import NotFound
from cms.extensions import db
from cms.schemas.articles.dumpers import (
    CardDumper,
    StoredCardDumper,
    SummaryIncluder,
    detail_json,
    related_data,
    summary_data,
)
from cms.schemas.articles.public import (
    FORMATS,
    ArticleDetail,
    ArticleListItem,
    ArticleListQuery,
    DetailQuery,
    RelatedOut,
    RelatedQuery,
    SummaryOut,
)
from cms.schemas.common import page_schema
from cms.schemas.corrections import CorrectionOut, correction_data
from cms.services import generation
from cms.services.distribution import site, structured_data
from cms.services.public import cards, corrections, reading
from cms.services.related import public as related

blp = Blueprint(
    "public_articles",
    __name__,
    url_prefix="/api/v1/articles",
    description="Published articles, their summaries and related links.",
)

ArticlePage = page_schema(ArticleListItem, "ArticlePage")
# The schemas document the responses; the hand-written dumpers beside them build the same
# documents faster (see cms/schemas/articles/dumpers.py).
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
    @blp.links(200, **public_article_links(FIRST_SLUG))
    @blp.operation("listArticles")
    def get(self, limit, count, cursor=None, fields=None, include=None, **filters):
        """Published articles, newest first.

        Filter by section, tag, author, source, language and publication time; `fields=` picks
        the fields of each item; `include=summary` adds each article's summary; follow
        `meta.next_cursor` (or the `Link` header) for more.
        """
        with reading.without_transaction():
            response = list_not_modified(
                filters, limit=limit, count=count, cursor=cursor, sent=request
            )
            if response is None:
                response = list_page(
                    filters,
                    limit=limit,
                    count=count,
                    cursor=cursor,
                    fields=fields,
                    include=include,
                    sent=request,
                ).response()
        set_cache_tags(list_tags(filters))
        return response


def list_tags(filters: dict) -> list[str]:
    """The cache tags of a list page."""
    return (
        ["list"]
        + ([f"section:{filters['section']}"] if "section" in filters else [])
        + ([f"tag:{filters['tag']}"] if "tag" in filters else [])
    )


def list_not_modified(filters: dict, *, limit: int, count: bool, sent, cursor=None):
    """The 304 of a conditional list request whose tag still matches, else ``None``: the
    page's keys decide, without reading or rendering the cards (inside the view's
    ``reading.without_transaction``)."""
    if not sent.if_none_match:
        return None
    etag = current_list_etag(filters, limit=limit, count=count, sent=sent, cursor=cursor)
    return not_modified(etag) if sent.if_none_match.contains_weak(etag) else None


def current_list_etag(filters: dict, *, limit: int, count: bool, sent, cursor=None) -> str:
    """The ETag the list page for the request ``sent`` has now, from the page's keys alone
    (unquoted, as :func:`list_etag` makes it)."""
    keys = reading.list_articles(
        filters, limit=limit, cursor=cursor, count=count, reader=cards.read_keys
    )
    return list_etag(keys, full_path=sent.full_path)


def list_page(
    filters: dict,
    *,
    limit: int,
    count: bool,
    sent,
    cursor=None,
    fields=None,
    include=None,
) -> Answer:
    """The list's 200, for the parsed query (``ArticleListQuery``) of the request ``sent``
    (the view's, or the werkzeug request of ``cms.api.public.fast``)."""
    with reading.without_transaction():
        known = None
        if fields:  # a subset of each card: built from the rows
            known = generation.current(db.session.connection())  # read before the rows
            page = reading.list_articles(filters, limit=limit, cursor=cursor, count=count)
            dumper = CardDumper(fields)
        else:
            page = reading.list_articles(
                filters, limit=limit, cursor=cursor, count=count, reader=cards.read_cards
            )
            dumper = _stored_card
        if include:
            summaries = reading.summaries_of([item.id for item in page.items])
            dumper = SummaryIncluder(dumper, summaries)
        body, headers = page_document(page, dumper, sent)
    headers["ETag"] = quote_etag(list_etag(page, known, full_path=sent.full_path))
    return Answer(body, headers, list_tags(filters))


# Part of every list ETag: the fields of the page and of its items, so a release that adds or
# drops one changes every tag even without a content change (new card JSON is written by
# ``rebuild cards``, which bumps the content generation anyway).
_LIST_SHAPE = ",".join([*ArticlePage._declared_fields, *ArticleListItem._declared_fields])


def list_etag(page, generation: int | None = None, *, full_path: str) -> str:
    """The list's ETag, from what the page is made of instead of a hash of its body.

    The body is a function of the request (``full_path``: path and query string), the
    articles on the page (their ids: which ones are visible also moves with the clock, when a
    scheduled article comes out), the total when counted, and the content they show, which
    changes only in a commit that bumps the content generation (``cms.services.generation``).
    The generation is the one the page's statement read with its rows (or one read before the
    rows), so a tag never names a newer state than its body: a later request sees a larger
    generation. An empty page shows no content, only its meta: no generation then."""
    if page.items:
        if generation is None:
            generation = page.items[0].generation
        ids = ",".join(str(item.id) for item in page.items)
    else:
        generation, ids = "-", ""
    made_of = f"{_LIST_SHAPE}|{generation}|{full_path}|{page.total}|{ids}"
    return hashlib.sha1(made_of.encode(), usedforsecurity=False).hexdigest()


def not_modified(etag: str):
    """The 304 of a conditional request whose tag matches (the public hooks add the caching
    headers a 200 would carry)."""
    response = current_app.response_class(status=304)
    response.set_etag(etag)
    return response


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
    @blp.links(200, **public_article_links(ARTICLE_SLUG))
    @blp.alt_response(301, description="The article moved to a new slug (see Location).")
    @blp.alt_response(404, description="No published article has this slug.")
    @blp.alt_response(410, description="The article was taken down (see `reason`).")
    @blp.operation("getArticle")
    def get(self, slug, formats=None):
        """One published article with its summary, sources, corrections, previous and next.

        `formats=jsonld` adds `structured_data`: the schema.org NewsArticle of the article.
        """
        found = article_page(slug, tuple(formats) if formats else FORMATS)
        if isinstance(found, reading.Moved):
            return _moved(found.slug)
        set_cache_tags(found.tags)
        return found.response()


def article_page(slug: str, formats=FORMATS) -> Answer | reading.Moved:
    """The detail's 200, or where the article moved (``Moved``)."""
    with reading.without_transaction():
        found = reading.read_article(slug)
    if isinstance(found, reading.Moved):
        return found
    section = found.section.slug if found.section else None
    # The previous and next articles are shown too (their slug and title): a purge of
    # either reaches this page.
    neighbours = [f"article:{n.id}" for n in (found.previous, found.next) if n is not None]
    tags = [f"article:{found.id}", *neighbours, *([f"section:{section}"] if section else [])]
    body = detail_json(found, formats)
    if "jsonld" in formats:
        body = _with_structured_data(body, found)
    return Answer(body, {"Last-Modified": http_date(_last_modified(found))}, tags)


def _with_structured_data(body: bytes, view) -> bytes:
    detail = orjson.loads(body)
    detail["structured_data"] = structured_data.news_article(
        site.current(),
        detail,
        description=view.summary.tldr if view.summary is not None else None,
        modified=_last_modified(view),
        corrections=view.corrections,
    )
    return orjson.dumps(detail)


@blp.route("/<slug>/summary")
class ArticleSummary(MethodView):
    @blp.query()
    @blp.response(200, SummaryOut)
    @blp.alt_response(301, description="The article moved to a new slug.")
    @blp.alt_response(404, description="No published article (or no summary) for this slug.")
    @blp.alt_response(410, description="The article was taken down (see `reason`).")
    @blp.operation("getArticleSummary")
    def get(self, _query, slug):
        """The "No time to read?" summary."""
        found = summary_page(slug)
        if isinstance(found, reading.Moved):
            return _moved(found.slug, "/summary")
        set_cache_tags(found.tags)
        return found.response()


def summary_page(slug: str) -> Answer | reading.Moved:
    """The summary's 200, or where the article moved (``Moved``); 404 without a summary."""
    with reading.without_transaction():
        found = reading.read_summary(slug)
    if isinstance(found, reading.Moved):
        return found
    article_id, summary = found
    if summary is None:
        raise NotFound("This article has no summary.")
    body = current_app.json.dumps_bytes(summary_data(summary))
    return Answer(body, {}, [f"article:{article_id}"])


@blp.route("/<slug>/related")
class ArticleRelated(MethodView):
    @blp.query(RelatedQuery, as_kwargs=True)
    @blp.response(200, RelatedOut)
    @blp.alt_response(301, description="The article moved to a new slug.")
    @blp.alt_response(404, description="No published article has this slug.")
    @blp.alt_response(410, description="The article was taken down (see `reason`).")
    @blp.operation("getRelatedArticles")
    def get(self, slug, limit, scope):
        """Previous/next and related articles: curated links first, then suggestions."""
        found = related_page(slug, limit=limit, scope=scope)
        if isinstance(found, reading.Moved):
            return _moved(found.slug, "/related")
        set_cache_tags(found.tags)
        return found.response()


def related_page(slug: str, *, limit: int, scope: str) -> Answer | reading.Moved:
    """Related's 200, or where the article moved (``Moved``)."""
    with reading.without_transaction():
        found = related.locate(slug, scope=scope, limit=limit)
        if isinstance(found, reading.Moved):
            return found
        view = related.related(found, limit=limit, scope=scope)
        neighbours = [f"article:{n.id}" for n in (view.previous, view.next) if n is not None]
        body = current_app.json.dumps_bytes(related_data(view))
        return Answer(body, {}, [f"article:{found.id}", *neighbours])


@blp.route("/<slug>/corrections")
class ArticleCorrections(MethodView):
    @blp.query()
    @blp.response(200, CorrectionOut(many=True))
    @blp.alt_response(301, description="The article moved to a new slug.")
    @blp.alt_response(404, description="No published article has this slug.")
    @blp.alt_response(410, description="The article was taken down (see `reason`).")
    @blp.doc(operationId="listArticleCorrections")
    def get(self, _query, slug):
        """The article's corrections log, oldest first (also `corrections` on the detail)."""
        with reading.without_transaction():
            found = corrections.article_corrections(slug)
            if isinstance(found, reading.Moved):
                return _moved(found.slug, "/corrections")
            return json_response([correction_data(entry) for entry in found])
