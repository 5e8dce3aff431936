"""``/api/v1/changes``: the change feed, oldest first, and its present position."""

from __future__ import annotations

from flask.views import MethodView

from cms.api.blueprint import Blueprint
from cms.api.responses import json_response, next_link
from cms.cache.http import set_cache_tags
from cms.pagination import DEFAULT_LIMIT
from cms.schemas.events import ChangesPage, ChangesQuery, EventOut, LatestOut
from cms.services.events import feed
from cms.services.public import reading

blp = Blueprint(
    "public_changes",
    __name__,
    url_prefix="/api/v1/changes",
    description="What changed: article events in commit order, for syncing without re-crawls.",
)

_event = EventOut()


@blp.route("")
class Changes(MethodView):
    @blp.doc(operationId="listChanges")
    @blp.query(ChangesQuery, as_kwargs=True)
    @blp.response(200, ChangesPage)
    @blp.alt_response(410, description="The cursor is older than the retention: re-crawl.")
    def get(self, limit=DEFAULT_LIMIT, cursor=None, type=None, section=None, tag=None):
        """Article events after `cursor`, oldest first.

        Follow `meta.next_cursor` to see every event exactly once, in commit order. It is
        given even on the last page: poll it later for what happens next. `section` and `tag`
        include removals (an article that left the section reads there as
        `article.unpublished` with reason `moved`).
        """
        with reading.without_transaction():
            page = feed.list_changes(
                limit=limit, cursor=cursor, types=type, section=section, tag=tag
            )
        set_cache_tags(["list"])
        meta = {"limit": limit, "next_cursor": page.next_cursor, **page.extra}
        headers = {"Link": next_link(page.next_cursor)} if page.extra["has_more"] else {}
        return json_response(
            {"data": _event.dump(page.items, many=True), "meta": meta}, headers=headers
        )


@blp.route("/latest")
class LatestChange(MethodView):
    @blp.doc(operationId="getLatestChange")
    @blp.query()
    @blp.response(200, LatestOut)
    def get(self, _query):
        """The present position of the feed: take it before a full crawl, then follow it."""
        with reading.without_transaction():
            cursor = feed.latest_cursor()
        set_cache_tags(["list"])
        return json_response({"cursor": cursor})
