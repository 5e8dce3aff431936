"""``/api/v1/editor/articles/{id}/revisions``: list, read, diff and restore."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint, link
from cms.api.editor.common import no_store, role_required
from cms.api.responses import article_etag, expected_version, json_response, page_response
from cms.extensions import db
from cms.schemas.articles.editor import ActionIn, EditorArticleOut
from cms.schemas.common import page_schema
from cms.schemas.revisions import (
    DiffQuery,
    RevisionDetailOut,
    RevisionDiffOut,
    RevisionOut,
    RevisionQuery,
)
from cms.services.content import articles, revisions

blp = Blueprint(
    "editor_revisions",
    __name__,
    url_prefix="/api/v1/editor/articles",
    description="Every change of an article, and the way back.",
)
blp.after_request(no_store)

RevisionPage = page_schema(RevisionOut, "RevisionPage")
_item = RevisionOut()
# The newest revision on the page just read
_NEWEST = {"article_id": "$request.path.article_id", "number": "$response.body#/data/0/number"}
_article = EditorArticleOut()


@blp.route("/<int:article_id>/revisions")
class Revisions(MethodView):
    @blp.query(RevisionQuery, as_kwargs=True)
    @blp.response(200, RevisionPage)
    @blp.links(
        200,
        revision=link("getRevision", _NEWEST),
        restore=link("restoreRevision", _NEWEST),
        diff=link(
            "diffRevisions",
            {
                "article_id": "$request.path.article_id",
                "from": "$response.body#/data/0/number",
                "to": "$response.body#/data/0/number",
            },
        ),
    )
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("listRevisions")
    def get(self, article_id, limit, count, cursor=None):
        """The article's revisions, newest first: who, when, what changed."""
        article = articles.get_article(article_id)
        page = revisions.list_revisions(
            article, actor=current_user, limit=limit, cursor=cursor, count=count
        )
        return page_response(page, _item)


@blp.route("/<int:article_id>/revisions/<int:number>")
class RevisionItem(MethodView):
    @blp.query()
    @blp.response(200, RevisionDetailOut)
    @blp.alt_response(404, description="No such article or revision.")
    @role_required("writer")
    @blp.operation("getRevision")
    def get(self, _query, article_id, number):
        """One revision, with the article's content as it was right after it."""
        article = articles.get_article(article_id)
        return revisions.get_revision(article, number, actor=current_user)


@blp.route("/<int:article_id>/revisions/diff")
class RevisionDiff(MethodView):
    @blp.query(DiffQuery)
    @blp.response(200, RevisionDiffOut)
    @blp.alt_response(404, description="No such article or revision.")
    @role_required("writer")
    @blp.operation("diffRevisions")
    def get(self, query, article_id):
        """What differs between revisions `from` and `to`: fields, and the body as a text diff."""
        article = articles.get_article(article_id)
        return revisions.diff(article, query["from_"], query["to"], actor=current_user)


@blp.route("/<int:article_id>/revisions/<int:number>/restore")
class RevisionRestore(MethodView):
    @blp.query()
    @blp.arguments(ActionIn, required=False)
    @blp.response(200, EditorArticleOut)
    @blp.alt_response(404, description="No such article or revision.")
    @blp.alt_response(409, description="The restored slug is now another article's.")
    @blp.alt_response(412, description="The article changed since the version you sent.")
    @blp.alt_response(428, description="Send If-Match (or version).")
    @role_required("writer")
    @blp.operation("restoreRevision")
    def post(self, _query, data, article_id, number):
        """Bring back that revision's content (not its status); recorded as a new revision.

        Requires `If-Match: <ETag>` or `version`, like `PATCH`.
        """
        article = articles.get_article(article_id)
        version = expected_version((data or {}).get("version"))
        articles.restore(article, number, actor=current_user, expected_version=version)
        db.session.commit()
        return json_response(_article.dump(article), headers={"ETag": article_etag(article)})
