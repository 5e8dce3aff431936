"""The "No time to read?" summary: editor-written or generated, with provenance.

A summary records the body revision it was made from (``source_revision``). When the body
changes, an automatic summary is remade at once; an editor's summary is kept and reads as
``stale`` to editors until they confirm (approve) or rewrite it.
"""

from __future__ import annotations

from datetime import datetime

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Article, Summary, User
from cms.services.accounts import audit
from cms.services.content import revisions
from cms.services.summaries.summarizer import summarize


def generate(article: Article) -> dict:
    """A fresh automatic summary of the article's current body (not stored)."""
    return summarize(article.title, article.body or [], article.language or "en")


def refresh_auto_summary(article: Article, *, now: datetime, made: dict | None = None) -> None:
    """Remake the automatic summary after a body change; leave an editor's summary alone.
    ``made``: :func:`generate`'s result when it was computed beforehand (a bulk import)."""
    current = article.summary
    if current is not None and current.origin == "editor":
        return
    if made is None:
        made = generate(article)
    if not made["tldr"]:
        if current is not None:
            article.summary = None
        return
    if current is None:
        current = Summary(origin="auto", created_at=now)
    for name, value in auto_fields(made, article.body_revision, now).items():
        setattr(current, name, value)
    article.summary = current


def auto_fields(made: dict, body_revision: int, now: datetime) -> dict:
    """The fields of an automatic summary made (:func:`generate`) from that body revision."""
    return {
        "tldr": made["tldr"],
        "key_points": made["key_points"],
        "source_revision": body_revision,
        "approved": False,
        "updated_at": now,
        "updated_by_id": None,
    }


def _attribution_of(article: Article, block_index: int | None):
    if block_index is None:
        return None
    return article.body[block_index].get("attribution")


def write_summary(article: Article, data: dict, *, actor: User) -> Summary:
    """An editor writes (or confirms) the summary; it is marked as made from the current body."""
    authorize(actor, "article:edit", article)
    errors = {}
    for i, point in enumerate(data.get("key_points", [])):
        index = point.get("block_index")
        if index is not None and index >= len(article.body or []):
            errors[f"key_points.{i}.block_index"] = [
                f"The body has {len(article.body or [])} blocks."
            ]
    if errors:
        raise ValidationFailed("A key point refers to a block that does not exist.", errors=errors)
    now = utcnow()
    summary = article.summary or Summary(created_at=now)
    summary.tldr = data["tldr"].strip()
    summary.key_points = [
        {
            "text": p["text"].strip(),
            "block_index": p.get("block_index"),
            "attribution": _attribution_of(article, p.get("block_index")),
        }
        for p in data.get("key_points", [])
    ]
    summary.origin = "editor"
    summary.approved = data.get("approved", True)
    summary.source_revision = article.body_revision
    summary.updated_at = now
    summary.updated_by_id = actor.id
    # The summary has its own updated_at; the article's version (its ETag) stays, so an
    # editor's open edit of the body is not invalidated by a summary change.
    article.summary = summary
    detail = {"action": "write", "tldr": summary.tldr, "approved": summary.approved}
    revisions.record(article, actor, "summary", ["summary"], detail)
    audit.log("article.summary_write", "article", article.id, actor, detail)
    return summary


def delete_summary(article: Article, *, actor: User) -> None:
    """Drop the editor's summary; readers get the automatic one again."""
    authorize(actor, "article:edit", article)
    if article.summary is None:
        raise NotFound("This article has no summary.")
    article.summary = None
    db.session.flush()
    refresh_auto_summary(article, now=utcnow())
    revisions.record(article, actor, "summary", ["summary"], {"action": "delete"})
    audit.log("article.summary_delete", "article", article.id, actor)


class DraftSummary:
    """A generated summary offered to an editor; shaped like a stored one, not saved."""

    def __init__(self, article: Article):
        made = generate(article)
        self.tldr = made["tldr"]
        self.key_points = made["key_points"]
        self.reading_time_seconds = made.get("reading_time_seconds", 0)
        self.origin = "auto"
        self.source_revision = self.article_revision = article.body_revision
        self.updated_at = utcnow()
        self.stale = False
        self.approved = False


def draft_summary(article: Article) -> DraftSummary:
    return DraftSummary(article)
