"""``/api/v1/search``: full-text search over published articles."""

from __future__ import annotations

from flask.views import MethodView

from cms.api.blueprint import FIRST_SLUG, Blueprint, public_article_links
from cms.api.responses import Answer, page_document, page_response
from cms.schemas.articles.dumpers import StoredHitDumper
from cms.schemas.common import page_schema
from cms.schemas.search import SearchHit, SearchMeta, SearchQuery
from cms.services.public import reading
from cms.services.search import service as search

blp = Blueprint(
    "public_search",
    __name__,
    url_prefix="/api/v1/search",
    description="Full-text search over published articles.",
)

SearchPage = page_schema(SearchHit, "SearchPage", SearchMeta)
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
        return page_response(_page(**args), _hit)


def search_page(sent) -> Answer:
    """The search's page for the werkzeug request ``sent`` (``cms.api.public.fast``): its
    query string parsed as the view's is, a bad one raising the view's 400."""
    args = blp.ARGUMENTS_PARSER.parse(_query, sent, location="query", error_status_code=400)
    body, headers = page_document(_page(**args), _hit, sent)
    return Answer(body, headers, ["list"])


def _page(q, limit, count, sort, cursor=None, **filters):
    """The page of hits for the parsed query (``SearchQuery``)."""
    with reading.without_transaction():
        return search.search(q, filters, limit=limit, cursor=cursor, count=count, sort=sort)
