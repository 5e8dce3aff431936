"""``/api/v1/feeds``, ``/api/v1/sitemaps`` and ``/api/v1/corrections``: what feed readers,
search engines and aggregators read. Public, cacheable, visible articles only."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from cms.api.blueprint import Blueprint
from cms.api.responses import json_response, page_response
from cms.errors import NotFound
from cms.schemas.common import page_schema
from cms.schemas.corrections import CorrectionItem, correction_data
from cms.schemas.distribution import CorrectionListQuery, FeedQuery, JsonFeed
from cms.services.distribution import feeds, site, sitemaps
from cms.services.public import corrections, reading
from cms.text import rfc3339

blp = Blueprint(
    "public_distribution",
    __name__,
    url_prefix="/api/v1",
    description="Feeds (RSS, Atom, JSON Feed), sitemaps and the site-wide corrections log.",
)

RSS = "application/rss+xml"
ATOM = "application/atom+xml"
JSON_FEED = "application/feed+json"
XML = "application/xml"
_FEED_PATHS = {"rss": "/feeds/rss.xml", "atom": "/feeds/atom.xml", "json": "/feeds/feed.json"}


def _xml_response(body: bytes, mimetype: str, last_modified=None):
    response = current_app.response_class(body, content_type=f"{mimetype}; charset=utf-8")
    if last_modified is not None:
        response.last_modified = last_modified
    return response


def _feed(filters: dict) -> feeds.Feed:
    """The feed for this request's filters; its links to itself keep the query string."""
    base = request.host_url.rstrip("/") + blp.url_prefix
    query = "?" + request.query_string.decode("latin-1") if request.query_string else ""
    self_urls = {kind: base + path + query for kind, path in _FEED_PATHS.items()}
    with reading.without_transaction():
        return feeds.build(site.current(), filters, self_urls)


_FEED_DOC = (
    "The newest 50 visible articles, filtered like `GET /api/v1/articles` (`section`, `tag`, "
    "`author`, `source`, `language`). Conditional GET with `ETag` or `Last-Modified`."
)


@blp.route("/feeds/rss.xml")
class RssFeed(MethodView):
    @blp.query(FeedQuery, as_kwargs=True)
    @blp.response(200, content_type=RSS, example='<rss version="2.0">…</rss>')
    @blp.doc(operationId="getRssFeed")
    def get(self, **filters):
        """RSS 2.0 feed."""
        feed = _feed(filters)
        return _xml_response(feeds.rss(feed), RSS, feed.updated)

    get.__doc__ += "\n\n" + _FEED_DOC


@blp.route("/feeds/atom.xml")
class AtomFeed(MethodView):
    @blp.query(FeedQuery, as_kwargs=True)
    @blp.response(200, content_type=ATOM, example='<feed xmlns="http://www.w3.org/2005/Atom">…')
    @blp.doc(operationId="getAtomFeed")
    def get(self, **filters):
        """Atom 1.0 feed."""
        feed = _feed(filters)
        return _xml_response(feeds.atom(feed), ATOM, feed.updated)

    get.__doc__ += "\n\n" + _FEED_DOC


@blp.route("/feeds/feed.json")
class JsonFeedView(MethodView):
    @blp.query(FeedQuery, as_kwargs=True)
    @blp.response(200, JsonFeed, content_type=JSON_FEED)
    @blp.doc(operationId="getJsonFeed")
    def get(self, **filters):
        """JSON Feed 1.1."""
        feed = _feed(filters)
        response = json_response(feeds.json_feed(feed))
        response.content_type = JSON_FEED
        if feed.updated is not None:
            response.last_modified = feed.updated
        return response

    get.__doc__ += "\n\n" + _FEED_DOC


def _sitemap_base() -> str:
    return request.host_url.rstrip("/") + blp.url_prefix + "/sitemaps"


@blp.route("/sitemaps/index.xml")
class SitemapIndex(MethodView):
    @blp.query()
    @blp.response(200, content_type=XML, example="<sitemapindex>…</sitemapindex>")
    @blp.doc(operationId="getSitemapIndex")
    def get(self, _query):
        """Sitemap index: every article sitemap page, and the Google News sitemap."""
        with reading.without_transaction():
            body = sitemaps.index(_sitemap_base(), current_app.config["CMS_SITEMAP_PAGE_SIZE"])
        return _xml_response(body, XML)


@blp.route("/sitemaps/articles-<int:number>.xml")
class ArticleSitemap(MethodView):
    @blp.query()
    @blp.response(200, content_type=XML, example="<urlset>…</urlset>")
    @blp.alt_response(404, description="No such page, or it lists no article.")
    @blp.doc(operationId="getArticleSitemap")
    def get(self, _query, number):
        """One article sitemap page: the visible articles of an id range, with `lastmod`."""
        if number < 1:
            raise NotFound("Sitemap pages start at 1.")
        with reading.without_transaction():
            body = sitemaps.article_page(
                site.current(), number, current_app.config["CMS_SITEMAP_PAGE_SIZE"]
            )
        if body is None:
            raise NotFound("This sitemap page lists no article.")
        return _xml_response(body, XML)


@blp.route("/sitemaps/news.xml")
class NewsSitemap(MethodView):
    @blp.query()
    @blp.response(200, content_type=XML, example="<urlset>…<news:news>…</news:news>…</urlset>")
    @blp.doc(operationId="getNewsSitemap")
    def get(self, _query):
        """Google News sitemap: articles published in the last 48 hours (at most 1,000)."""
        with reading.without_transaction():
            body = sitemaps.news(site.current())
        return _xml_response(body, XML)


class _CorrectionDumper:
    def __init__(self):
        self.site = site.current()

    def dump(self, rows, *, many: bool = True):
        out = []
        for entry, article in rows:
            item = correction_data(entry)
            item["article"] = {
                "id": article.id,
                "slug": article.slug,
                "title": article.title,
                "published_at": rfc3339(article.published_at),
                "url": self.site.article_url(
                    id=article.id, slug=article.slug, section=article.section
                ),
            }
            out.append(item)
        return out


CorrectionPage = page_schema(CorrectionItem, "CorrectionPage")


@blp.route("/corrections")
class Corrections(MethodView):
    @blp.query(CorrectionListQuery, as_kwargs=True)
    @blp.response(200, CorrectionPage)
    @blp.doc(operationId="listCorrections")
    def get(self, limit, count, cursor=None):
        """Every visible correction of every visible article, newest first."""
        with reading.without_transaction():
            page = corrections.list_corrections(limit=limit, cursor=cursor, count=count)
        return page_response(page, _CorrectionDumper())
