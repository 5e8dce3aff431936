"""``/api/v1/editor/sections|tags|authors|sources``: CRUD for editors and admins."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint, link
from cms.api.editor.common import no_store, role_required
from cms.api.responses import json_response, page_response
from cms.extensions import db
from cms.schemas.common import Cursor, PageQuery, page_schema
from cms.schemas.taxonomy import TAXONOMY_IN, TAXONOMY_OUT
from cms.services.content import taxonomy
from cms.services.public import taxonomies

blp = Blueprint(
    "editor_taxonomies",
    __name__,
    url_prefix="/api/v1/editor",
    description="Manage sections, tags, authors and sources.",
)
blp.after_request(no_store)


class TaxonomyQuery(PageQuery):
    cursor = Cursor(kinds=(str,))


def _register(kind: str) -> None:
    in_cls, out_cls = TAXONOMY_IN[kind], TAXONOMY_OUT[kind]
    # Its own name, so the OpenAPI document has distinct create and patch schemas.
    patch_cls = type(f"{in_cls.__name__[:-2]}Patch", (in_cls,), {})
    out = out_cls()
    noun = kind[:-1]
    by_slug = {"slug": "$response.body#/slug"}
    page_cls = page_schema(out_cls, f"Editor{out_cls.__name__[:-3]}Page")

    class Collection(MethodView):
        @blp.query(TaxonomyQuery, as_kwargs=True)
        @blp.response(200, page_cls)
        @role_required("writer")
        @blp.operation(f"listEditor{kind.title()}")
        def get(self, limit, count, cursor=None):
            page = taxonomies.list_taxonomy(kind, limit=limit, cursor=cursor, count=count)
            return page_response(page, out)

        @blp.query()
        @blp.arguments(in_cls)
        @blp.response(201, out_cls)
        @blp.links(
            201,
            read=link(f"getEditor{noun.title()}", by_slug),
            update=link(f"update{noun.title()}", by_slug),
            delete=link(f"delete{noun.title()}", by_slug),
            public=link(f"get{noun.title()}", by_slug),
        )
        @blp.alt_response(409, description="The slug is taken.")
        @role_required("editor")
        @blp.operation(f"create{noun.title()}")
        def post(self, _query, data):
            obj = taxonomy.create(kind, data, actor=current_user)
            db.session.commit()
            obj.article_count = 0
            return json_response(out.dump(obj), status=201)

    class Item(MethodView):
        @blp.query()
        @blp.response(200, out_cls)
        @blp.alt_response(404, description=f"No such {noun}.")
        @role_required("writer")
        @blp.operation(f"getEditor{noun.title()}")
        def get(self, _query, slug):
            return taxonomies.get_taxonomy(kind, slug)

        @blp.query()
        @blp.arguments(patch_cls(partial=True))
        @blp.response(200, out_cls)
        @blp.alt_response(404, description=f"No such {noun}.")
        @blp.alt_response(409, description="The slug is taken.")
        @role_required("editor")
        @blp.operation(f"update{noun.title()}")
        def patch(self, _query, data, slug):
            obj = taxonomy.update(kind, taxonomy.get(kind, slug), data, actor=current_user)
            db.session.commit()
            return taxonomies.get_taxonomy(kind, obj.slug)

        @blp.query()
        @blp.response(204)
        @blp.alt_response(404, description=f"No such {noun}.")
        @blp.alt_response(409, description=f"The {noun} is still in use.")
        @role_required("editor")
        @blp.operation(f"delete{noun.title()}")
        def delete(self, _query, slug):
            taxonomy.delete(kind, taxonomy.get(kind, slug), actor=current_user)
            db.session.commit()

    Collection.get.__doc__ = f"All {kind} with article counts."
    Collection.post.__doc__ = f"Create a {noun} (editors and admins)."
    Item.get.__doc__ = f"One {noun}."
    Item.patch.__doc__ = f"Change a {noun} (editors and admins)."
    Item.delete.__doc__ = f"Delete a {noun} (editors and admins)."
    # Classes (not ``as_view``) so that flask-smorest documents every method.
    blp.add_url_rule(f"/{kind}", kind, Collection)
    blp.add_url_rule(f"/{kind}/<slug>", noun, Item)


for _kind in ("sections", "tags", "authors", "sources"):
    _register(_kind)
