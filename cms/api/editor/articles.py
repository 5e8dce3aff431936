"""``/api/v1/editor/articles``: CRUD, workflow actions, summary and curated related links."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_jwt_extended import current_user
from sqlalchemy.exc import IntegrityError

from cms.api.blueprint import (
    ARTICLE_ID,
    ARTICLE_SLUG,
    ARTICLE_VERSION,
    Blueprint,
    link,
    public_article_links,
)
from cms.api.editor.common import no_store, role_required
from cms.api.responses import article_etag, expected_version, json_response, page_response
from cms.auth.permissions import authorize
from cms.errors import NotFound
from cms.extensions import db
from cms.schemas.articles.editor import (
    ActionIn,
    ArticleIn,
    ArticlePatch,
    EditorArticleItem,
    EditorArticleOut,
    EditorArticleQuery,
    EditorRelatedOut,
    EditorSuggestionsOut,
    EditorSummaryOut,
    PublishIn,
    RelatedLinksIn,
    SuggestionQuery,
    SummaryIn,
)
from cms.schemas.common import page_schema
from cms.services.accounts import idempotency
from cms.services.content import articles
from cms.services.related import curation, suggestions
from cms.services.summaries import service as summaries
from cms.services.workflow import publishing

blp = Blueprint(
    "editor_articles",
    __name__,
    url_prefix="/api/v1/editor/articles",
    description="Write, review, publish and curate articles.",
)
blp.after_request(no_store)

EditorArticlePage = page_schema(EditorArticleItem, "EditorArticlePage")
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
    "description": "A unique key (e.g. a UUID) per intended create. A retry with the same key "
    "and body within 24 hours returns the first answer (`Idempotent-Replayed: true`) instead "
    "of creating another article; the same key with a different body is a 422.",
}
_out = EditorArticleOut()
_item = EditorArticleItem()

# Where an article the editor API returns leads: its id, ETag and slug feed these operations.
ARTICLE_LINKS = {
    "read": link("getEditorArticle", ARTICLE_ID),
    "update": link("updateArticle", ARTICLE_VERSION),
    "delete": link("deleteArticle", ARTICLE_ID),
    "submit": link("submitArticle", ARTICLE_VERSION),
    "publish": link("publishArticle", ARTICLE_VERSION),
    "unpublish": link("unpublishArticle", ARTICLE_VERSION),
    "archive": link("archiveArticle", ARTICLE_VERSION),
    "restoreDraft": link("restoreArticleDraft", ARTICLE_VERSION),
    "revisions": link("listRevisions", ARTICLE_ID),
    "summary": link("getEditorArticleSummary", ARTICLE_ID),
    "writeSummary": link("writeArticleSummary", ARTICLE_ID),
    "generateSummary": link("generateArticleSummary", ARTICLE_ID),
    "relatedLinks": link("listRelatedLinks", ARTICLE_ID),
    "replaceRelatedLinks": link("replaceRelatedLinks", ARTICLE_ID),
    "suggestions": link("listRelatedSuggestions", ARTICLE_ID),
    "preview": link("createPreviewLink", ARTICLE_ID),
    **{f"public_{name}": value for name, value in public_article_links(ARTICLE_SLUG).items()},
}


def _article_response(article, status: int = 200):
    headers = {"ETag": article_etag(article)}
    if status == 201:
        headers["Location"] = f"{blp.url_prefix}/{article.id}"
    return json_response(_out.dump(article), status=status, headers=headers)


def _commit_and_answer(article, status: int = 200):
    """Commit the write and answer with the article as written. The answer is made before the
    commit, from the objects the write left in the session (the same values: the commit's
    hooks write derived data, never the article), so the commit's expiry is not followed by
    reading the article and its relations back; a commit that fails answers its error."""
    db.session.flush()
    response = _article_response(article, status)
    db.session.commit()
    return response


def _replayed(remembered):
    """The remembered answer to a create, as it was first sent."""
    article_id, version = remembered.body["id"], remembered.body["version"]
    headers = {
        "ETag": f'"a{article_id}-v{version}"',
        "Location": f"{blp.url_prefix}/{article_id}",
        "Idempotent-Replayed": "true",
    }
    return json_response(remembered.body, status=remembered.status, headers=headers)


def _readable(article_id: int):
    article = articles.get_article(article_id)
    authorize(current_user, "article:read", article)
    return article


@blp.route("")
class Articles(MethodView):
    @blp.query(EditorArticleQuery, as_kwargs=True)
    @blp.response(200, EditorArticlePage)
    @role_required("writer")
    @blp.operation("listEditorArticles")
    def get(self, limit, count, cursor=None, **filters):
        """Articles in every status, newest first. Writers see their own."""
        page = articles.list_for_editor(
            current_user, filters, limit=limit, cursor=cursor, count=count
        )
        return page_response(page, _item)

    @blp.query()
    @blp.arguments(ArticleIn)
    @blp.response(201, EditorArticleOut)
    @blp.links(201, **ARTICLE_LINKS)
    @blp.alt_response(409, description="The slug is taken.")
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    @role_required("writer")
    @blp.operation("createArticle")
    def post(self, _query, data):
        """Create a draft. With an `Idempotency-Key`, a retry gets the first answer again."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            article = articles.create_article(data, actor=current_user)
            return _commit_and_answer(article, 201)
        key = idempotency.check_key(key)
        print_ = idempotency.fingerprint(request.get_json())
        remembered = idempotency.lookup(current_user, key, print_)
        if remembered is None:
            article = articles.create_article(data, actor=current_user)
            db.session.flush()
            idempotency.remember(
                current_user,
                key,
                print_,
                status=201,
                body=_out.dump(article),
                article_id=article.id,
            )
            try:
                db.session.commit()
                return _article_response(article, 201)
            except IntegrityError:  # the same key, committed a moment ago by a parallel retry
                db.session.rollback()
                remembered = idempotency.lookup(current_user, key, print_)
                if remembered is None:
                    raise
        return _replayed(remembered)


@blp.route("/<int:article_id>")
class Article(MethodView):
    @blp.query()
    @blp.response(200, EditorArticleOut)
    @blp.links(200, **ARTICLE_LINKS)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("getEditorArticle")
    def get(self, _query, article_id):
        """One article in any status; the ETag is what `If-Match` expects."""
        return _article_response(_readable(article_id))

    @blp.query()
    @blp.arguments(ArticlePatch(partial=True))
    @blp.response(200, EditorArticleOut)
    @blp.links(200, **ARTICLE_LINKS)
    @blp.alt_response(404, description="No such article.")
    @blp.alt_response(409, description="The slug is taken.")
    @blp.alt_response(412, description="The article changed since the version you sent.")
    @blp.alt_response(428, description="Send If-Match (or version).")
    @role_required("writer")
    @blp.operation("updateArticle")
    def patch(self, _query, data, article_id):
        """Change some fields. Requires `If-Match: <ETag>` or `version`."""
        article = _readable(article_id)
        version = expected_version(data.pop("version", None))
        articles.update_article(article, data, actor=current_user, expected_version=version)
        return _commit_and_answer(article)

    @blp.query()
    @blp.response(204)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("deleteArticle")
    def delete(self, _query, article_id):
        """Delete an article (writers: their own drafts)."""
        article = _readable(article_id)
        articles.delete_article(article, actor=current_user)
        db.session.commit()


def _action_view(name: str, operation_id: str, schema, doc: str):
    @role_required("writer")
    @blp.operation(operation_id)
    def post(self, data, article_id):
        article = _readable(article_id)
        version = expected_version(data.get("version"))
        publishing.perform(
            article,
            name,
            actor=current_user,
            expected_version=version,
            publish_at=data.get("publish_at"),
        )
        return _commit_and_answer(article)

    post.__doc__ = doc
    post = blp.alt_response(428, description="Send If-Match (or version).")(post)
    post = blp.alt_response(412, description="The article changed since that version.")(post)
    post = blp.alt_response(409, description="Not allowed from the current status.")(post)
    post = blp.alt_response(404, description="No such article.")(post)
    post = blp.links(200, **ARTICLE_LINKS)(post)
    post = blp.response(200, EditorArticleOut)(post)
    post = blp.arguments(schema(), required=False)(post)
    view = type(f"{name.title().replace('-', '')}Action", (MethodView,), {"post": post})
    # The class (not ``as_view``) lets flask-smorest document the POST.
    blp.add_url_rule(f"/<int:article_id>/{name}", f"action_{name}", view)


_action_view("submit", "submitArticle", ActionIn, "Submit a draft for review.")
_action_view(
    "publish",
    "publishArticle",
    PublishIn,
    "Publish now, or schedule with a future `publish_at` (editors and admins).",
)
_action_view(
    "unpublish",
    "unpublishArticle",
    ActionIn,
    "Take a published or scheduled article back to draft.",
)
_action_view("archive", "archiveArticle", ActionIn, "Archive a published article.")
_action_view(
    "restore-draft",
    "restoreArticleDraft",
    ActionIn,
    "Return an in-review or archived article to draft.",
)


@blp.route("/<int:article_id>/summary")
class Summary(MethodView):
    @blp.query()
    @blp.response(200, EditorSummaryOut)
    @blp.alt_response(404, description="No such article or no summary.")
    @role_required("writer")
    @blp.operation("getEditorArticleSummary")
    def get(self, _query, article_id):
        """The summary, with `stale` when the body changed after an editor wrote it."""
        article = _readable(article_id)
        if article.summary is None:
            raise NotFound("This article has no summary yet.")
        return article.summary

    @blp.query()
    @blp.arguments(SummaryIn)
    @blp.response(200, EditorSummaryOut)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("writeArticleSummary")
    def put(self, _query, data, article_id):
        """Write (or confirm) the summary; it then belongs to the current body revision."""
        article = _readable(article_id)
        summary = summaries.write_summary(article, data, actor=current_user)
        db.session.commit()
        return summary

    @blp.query()
    @blp.response(204)
    @blp.alt_response(404, description="No such article or no summary.")
    @role_required("writer")
    @blp.operation("deleteArticleSummary")
    def delete(self, _query, article_id):
        """Remove the editor's summary; readers get the automatic one again."""
        article = _readable(article_id)
        summaries.delete_summary(article, actor=current_user)
        db.session.commit()


@blp.route("/<int:article_id>/summary/generate")
class SummaryGenerate(MethodView):
    @blp.query()
    @blp.response(200, EditorSummaryOut)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("generateArticleSummary")
    def post(self, _query, article_id):
        """A freshly generated summary of the current body, for the editor to edit (not saved)."""
        article = _readable(article_id)
        return summaries.draft_summary(article)


@blp.route("/<int:article_id>/related")
class Related(MethodView):
    @blp.query()
    @blp.response(200, EditorRelatedOut)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("listRelatedLinks")
    def get(self, _query, article_id):
        """The curated related links, in order."""
        article = _readable(article_id)
        return {"links": article.related_links}

    @blp.query()
    @blp.arguments(RelatedLinksIn)
    @blp.response(200, EditorRelatedOut)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("replaceRelatedLinks")
    def put(self, _query, data, article_id):
        """Replace the curated links (ordered): other articles or external URLs."""
        article = _readable(article_id)
        curation.set_links(article, data["links"], actor=current_user)
        db.session.commit()
        return {"links": article.related_links}


@blp.route("/<int:article_id>/related/suggestions")
class RelatedSuggestions(MethodView):
    @blp.query(SuggestionQuery, as_kwargs=True)
    @blp.response(200, EditorSuggestionsOut)
    @blp.alt_response(404, description="No such article.")
    @role_required("writer")
    @blp.operation("listRelatedSuggestions")
    def get(self, article_id, limit):
        """Suggested related articles with score and reason, to promote to curated links.

        Lists suggestions in every status; the public endpoint shows only visible ones.
        """
        article = _readable(article_id)
        rows = suggestions.suggestions_for_editor(article, limit=limit)
        return {
            "suggestions": [
                {"article": target, "status": target.status, "score": score, "reason": reason}
                for target, score, reason in rows
            ]
        }
