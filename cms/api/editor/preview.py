"""``/api/v1/editor/articles/{id}/preview``: hand out and revoke draft preview links."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint, link
from cms.api.editor.common import no_store, role_required
from cms.api.responses import json_response
from cms.extensions import db
from cms.schemas.preview import PreviewOut
from cms.services.content import articles
from cms.services.workflow import preview

blp = Blueprint(
    "editor_preview",
    __name__,
    url_prefix="/api/v1/editor/articles",
    description="Signed, expiring links that show a draft as readers will see it.",
)
blp.after_request(no_store)

_out = PreviewOut()


@blp.route("/<int:article_id>/preview")
class Preview(MethodView):
    @blp.query()
    @blp.response(201, PreviewOut)
    @blp.links(201, read=link("getArticlePreview", {"token": "$response.body#/token"}))
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("createPreviewLink")
    def post(self, _query, article_id):
        """A signed link to the current draft, valid without login until `expires_at`.

        It always shows the article's current state, rendered as the public detail endpoint
        will. Anyone holding the link can read the draft: share it like a password.
        """
        link = preview.issue(articles.get_article(article_id), actor=current_user)
        db.session.commit()
        return json_response(_out.dump(link), status=201)

    @blp.query()
    @blp.response(204)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("revokePreviewLinks")
    def delete(self, _query, article_id):
        """Revoke every preview link of this article issued so far."""
        preview.revoke(articles.get_article(article_id), actor=current_user)
        db.session.commit()
