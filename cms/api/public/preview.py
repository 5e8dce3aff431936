"""``/api/v1/preview/{token}``: a draft exactly as the public detail endpoint will show it.

No login: the signed token is the permission, for one article only. Never cached, never indexed.
"""

from __future__ import annotations

from flask.views import MethodView

from cms.api.blueprint import Blueprint
from cms.api.responses import json_response
from cms.schemas.articles.editor import PreviewArticleOut
from cms.schemas.articles.public import FORMATS, DetailQuery
from cms.services.public import reading
from cms.services.workflow import preview

blp = Blueprint(
    "public_preview",
    __name__,
    url_prefix="/api/v1/preview",
    description="Draft previews through signed links.",
)

_FORMAT_FIELDS = {"blocks": "body", "html": "body_html", "text": "body_text"}


@blp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@blp.route("/<token>")
class PreviewArticle(MethodView):
    @blp.query(DetailQuery, as_kwargs=True)
    @blp.response(200, PreviewArticleOut)
    @blp.alt_response(401, description="The link is invalid, expired or revoked.")
    @blp.operation("getArticlePreview")
    def get(self, token, formats=None):
        """The article's current state, shaped like `GET /api/v1/articles/{slug}`."""
        article = preview.article_for(token)
        wanted = tuple(formats) if formats else FORMATS
        schema = PreviewArticleOut(
            exclude=(
                "structured_data",
                *(_FORMAT_FIELDS[f] for f in FORMATS if f not in wanted),
            )
        )
        return json_response(schema.dump(reading.article_page(article)))
