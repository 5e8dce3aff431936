"""``/api/v1/editor/articles/{id}/corrections`` and ``…/takedown``: the corrections log
(append, hide) and admin takedowns."""

from __future__ import annotations

from flask.views import MethodView
from flask_jwt_extended import current_user

from cms.api.blueprint import Blueprint
from cms.api.editor.common import no_store, role_required
from cms.api.responses import article_etag, json_response
from cms.auth.permissions import authorize
from cms.errors import NotFound
from cms.extensions import db
from cms.schemas.corrections import CorrectionIn, EditorCorrectionOut, HideIn
from cms.schemas.distribution import RevokeIn, TakedownIn, TakedownOut
from cms.services.content import articles
from cms.services.distribution import corrections, takedowns

blp = Blueprint(
    "editor_distribution",
    __name__,
    url_prefix="/api/v1/editor/articles",
    description="Corrections log (append-only) and takedowns of articles.",
)
blp.after_request(no_store)

_correction = EditorCorrectionOut()
_takedown = TakedownOut()


def _readable(article_id: int):
    article = articles.get_article(article_id)
    authorize(current_user, "article:read", article)
    return article


def _version(header_or_body: int | None) -> int | None:
    """An optional precondition: ``If-Match`` or ``version``, else none."""
    from cms.api.responses import sent_version

    return sent_version(header_or_body)


@blp.route("/<int:article_id>/corrections")
class ArticleCorrections(MethodView):
    @blp.query()
    @blp.response(200, EditorCorrectionOut(many=True))
    @blp.alt_response(404, description="No such article.")
    @blp.doc(operationId="listEditorCorrections")
    @role_required("writer")
    def get(self, _query, article_id):
        """The article's whole corrections log, oldest first, hidden entries included."""
        return corrections.for_editor(_readable(article_id))

    @blp.query()
    @blp.arguments(CorrectionIn)
    @blp.response(201, EditorCorrectionOut)
    @blp.alt_response(404, description="No such article.")
    @blp.alt_response(409, description="The article is not public.")
    @blp.alt_response(412, description="The article changed while the correction was saved.")
    @blp.doc(operationId="createCorrection")
    @role_required("editor")
    def post(self, _query, data, article_id):
        """Append a correction, clarification, update or retraction (editors and admins).

        Entries are never edited or deleted. The article's `updated_at` moves; readers see the
        entry on the article, its corrections list, the site-wide list, feeds and JSON-LD.
        """
        article = _readable(article_id)
        entry = corrections.append(article, data, actor=current_user)
        db.session.commit()
        return json_response(
            _correction.dump(entry),
            status=201,
            headers={"ETag": article_etag(article)},
        )


@blp.route("/<int:article_id>/corrections/<int:correction_id>/hide")
class HideCorrection(MethodView):
    @blp.query()
    @blp.arguments(HideIn)
    @blp.response(200, EditorCorrectionOut)
    @blp.alt_response(404, description="No such article or correction.")
    @blp.alt_response(409, description="Already hidden.")
    @blp.alt_response(412, description="The article changed while the entry was hidden.")
    @blp.doc(operationId="hideCorrection")
    @role_required("admin")
    def post(self, _query, data, article_id, correction_id):
        """Hide a correction from readers, with a reason (admins; audited). It stays in the log."""
        article = _readable(article_id)
        entry = corrections.get_correction(article, correction_id)
        corrections.hide(entry, reason=data["reason"], actor=current_user)
        db.session.commit()
        return entry


@blp.route("/<int:article_id>/takedown")
class Takedown(MethodView):
    @blp.query()
    @blp.response(200, TakedownOut)
    @blp.alt_response(404, description="No such article, or it is not taken down.")
    @blp.doc(operationId="getTakedown")
    @role_required("editor")
    def get(self, _query, article_id):
        """The takedown in force: reason, note, who and when."""
        takedown = takedowns.active_takedown(_readable(article_id))
        if takedown is None:
            raise NotFound("This article is not taken down.")
        return takedown

    @blp.query()
    @blp.arguments(TakedownIn)
    @blp.response(201, TakedownOut)
    @blp.alt_response(404, description="No such article.")
    @blp.alt_response(409, description="Not published or scheduled (e.g. a draft).")
    @blp.alt_response(412, description="The article changed since the version you sent.")
    @blp.doc(operationId="takeDownArticle")
    @role_required("admin")
    def post(self, _query, data, article_id):
        """Take an article down (admins): from this commit on, its public URLs answer
        410 Gone with the `reason` and it leaves every list, search, feed and sitemap.

        `If-Match` (or `version`) is optional here: a takedown must not wait for a reload.
        """
        article = _readable(article_id)
        takedown = takedowns.take_down(
            article,
            reason=data["reason"],
            note=data["note"],
            actor=current_user,
            expected_version=_version(data.get("version")),
        )
        db.session.commit()
        return json_response(
            _takedown.dump(takedown), status=201, headers={"ETag": article_etag(article)}
        )


@blp.route("/<int:article_id>/takedown/revoke")
class RevokeTakedown(MethodView):
    @blp.query()
    @blp.arguments(RevokeIn, required=False)
    @blp.response(200, TakedownOut)
    @blp.alt_response(404, description="No such article.")
    @blp.alt_response(409, description="The article is not taken down.")
    @blp.alt_response(412, description="The article changed since the version you sent.")
    @blp.doc(operationId="revokeTakedown")
    @role_required("admin")
    def post(self, _query, data, article_id):
        """Undo a takedown (admins): the article returns to the status it had."""
        article = _readable(article_id)
        takedown = takedowns.revoke(
            article, actor=current_user, expected_version=_version((data or {}).get("version"))
        )
        db.session.commit()
        return json_response(_takedown.dump(takedown), headers={"ETag": article_etag(article)})
