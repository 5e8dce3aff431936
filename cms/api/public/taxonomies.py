"""``/api/v1/sections|tags|authors|sources``: vocabularies with counts of published articles."""

from __future__ import annotations

from flask.views import MethodView

from cms.api.blueprint import Blueprint
from cms.api.responses import Answer, page_document
from cms.schemas.common import Cursor, PageQuery, page_schema
from cms.schemas.taxonomy import TAXONOMY_OUT
from cms.services.public import reading, taxonomies

blp = Blueprint(
    "public_taxonomies",
    __name__,
    url_prefix="/api/v1",
    description="Sections, tags, authors and sources with article counts.",
)


class TaxonomyQuery(PageQuery):
    cursor = Cursor(kinds=(str,))


def _register(kind: str) -> None:
    schema_cls = TAXONOMY_OUT[kind]
    page_cls = page_schema(schema_cls, f"{schema_cls.__name__[:-3]}Page")
    noun = kind[:-1]

    class Collection(MethodView):
        @blp.query(TaxonomyQuery, as_kwargs=True)
        @blp.response(200, page_cls)
        @blp.operation(f"list{kind.title()}")
        def get(self, limit, count, cursor=None):
            return taxonomy_page(kind, limit=limit, count=count, cursor=cursor).response()

    class Item(MethodView):
        @blp.query()
        @blp.response(200, schema_cls)
        @blp.alt_response(404, description=f"No such {noun}.")
        @blp.operation(f"get{noun.title()}")
        def get(self, _query, slug):
            return taxonomies.get_taxonomy(kind, slug)

    Collection.get.__doc__ = f"All {kind}, ordered by slug, with `article_count`."
    Item.get.__doc__ = f"One {noun} with its `article_count` of published articles."
    # Classes (not ``as_view``) so that flask-smorest documents every method.
    blp.add_url_rule(f"/{kind}", kind, Collection)
    blp.add_url_rule(f"/{kind}/<slug>", noun, Item)


KINDS = ("sections", "tags", "authors", "sources")
_ITEMS = {kind: TAXONOMY_OUT[kind]() for kind in KINDS}


def taxonomy_page(kind: str, *, limit: int, count: bool, cursor=None, sent=None) -> Answer:
    """The 200 of a taxonomy's list, for the parsed query (``TaxonomyQuery``) of the request
    ``sent`` (the view's, or the werkzeug request of ``cms.api.public.fast``)."""
    with reading.without_transaction():
        page = taxonomies.list_taxonomy(kind, limit=limit, cursor=cursor, count=count)
    body, headers = page_document(page, _ITEMS[kind], sent)
    return Answer(body, headers, ["list"])


for _kind in KINDS:
    _register(_kind)
