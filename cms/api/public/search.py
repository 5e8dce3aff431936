"""``/api/v1/search``: full-text search over published articles."""

from __future__ import annotations

from flask.views import MethodView

from cms.api.blueprint import FIRST_SLUG, Blueprint, public_article_links
from cms.api.responses import page_response
from cms.schemas.articles.dumpers import StoredHitDumper
from cms.schemas.common import page_schema
from cms.schemas.search import SearchHit, SearchQuery
from cms.services.public import reading
from cms.services.search import service as search

blp = Blueprint(
    "public_search",
    __name__,
    url_prefix="/api/v1/search",
    description="Full-text search over published articles.",
)

SearchPage = page_schema(SearchHit, "SearchPage")
_hit = StoredHitDumper()
_query = SearchQuery()


@blp.route("")
class Search(MethodView):
    @blp.query(_query, as_kwargs=True)
    @blp.response(200, SearchPage)
    @blp.links(200, **public_article_links(FIRST_SLUG))
    @blp.operation("searchArticles")
    def get(self, **args):
        """Published articles matching `q`, best match first (or newest first).

        Searches title, subtitle, body and tags, stemmed by the article's language. Each hit
        carries its `score` and a `snippet` with the hits marked. Filters as on the article
        list; follow `meta.next_cursor` (or the `Link` header) for more.
        """
        return search_response(**args)


def search_page(sent):
    """The search's response and its cache tags for the werkzeug request ``sent``
    (``cms.api.public.fast``): its query string parsed as the view's is, a bad one raising
    the view's 400."""
    args = blp.ARGUMENTS_PARSER.parse(_query, sent, location="query", error_status_code=400)
    return search_response(sent=sent, **args), ["list"]


def search_response(q, limit, count, sort, cursor=None, sent=None, **filters):
    """The page of hits for the parsed query (``SearchQuery``) of the request (or ``sent``)."""
    with reading.without_transaction():
        page = search.search(q, filters, limit=limit, cursor=cursor, count=count, sort=sort)
    return page_response(page, _hit, sent)
