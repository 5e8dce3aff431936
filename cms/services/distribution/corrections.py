"""The corrections log: typed, timestamped entries appended to a published article.

Append-only: no API, CLI or service edits or deletes an entry. :func:`guard` makes the session
refuse, at flush time, any change to an entry other than hiding it once, and any deletion; the
database refuses to delete an article that has entries (``RESTRICT``), and
``articles.delete_article`` says so first (409). An admin may hide an entry with a reason
(:func:`hide`, audited); hidden entries leave every public surface and stay in the editor's
list. A correction or a hide moves the article's ``updated_at``, so feeds, sitemaps and caches
see the change.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import Conflict, NotFound, ValidationFailed
from cms.extensions import db
from cms.models import Article, Correction, User
from cms.services import events
from cms.services.accounts import audit
from cms.services.content.articles import flush_guarded
from cms.services.visibility import is_public

HIDE_FIELDS = ("hidden_at", "hidden_by_id", "hidden_reason")


class AppendOnly(Conflict):
    type = "urn:cms:problem:append-only"


def append(article: Article, data: dict, *, actor: User) -> Correction:
    """Append ``{kind, text, block_index?}`` to ``article``'s log (editors and admins).

    Returns the new entry; the commit emits ``article.corrected`` (§7).
    """
    authorize(actor, "article:correct", article)
    now = utcnow()
    if not is_public(article, now):
        raise Conflict(
            "Corrections are published with an article: this one is not public "
            f"({article.effective_status(now)}). Edit it instead.",
            current_status=article.effective_status(now),
        )
    block_index = data.get("block_index")
    block_source = None
    if block_index is not None:
        body = article.body or []
        if block_index >= len(body):
            raise ValidationFailed(
                f"block_index {block_index} is outside the body ({len(body)} blocks).",
                errors={"block_index": [f"Must be between 0 and {len(body) - 1}."]}
                if body
                else {"block_index": ["The article has no blocks."]},
            )
        attribution = body[block_index].get("attribution") or {}
        block_source = attribution.get("source")
    version = article.version
    entry = Correction(
        article_id=article.id,
        kind=data["kind"],
        text=data["text"],
        block_index=block_index,
        block_source=block_source,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(entry)
    article.updated_at = now
    flush_guarded(article, version)
    events.record(db.session, "article.corrected", article)
    audit.log(
        "article.correct",
        "article",
        article.id,
        actor,
        {"correction_id": entry.id, "kind": entry.kind, "block_index": block_index},
    )
    return entry


def get_correction(article: Article, correction_id: int) -> Correction:
    entry = db.session.get(Correction, correction_id)
    if entry is None or entry.article_id != article.id:
        raise NotFound("This article has no such correction.")
    return entry


def hide(entry: Correction, *, reason: str, actor: User) -> Correction:
    """Hide ``entry`` from readers (admins only, with a reason, audited). It stays in the log.

    The article's public content changes: the commit emits ``article.updated`` (§7).
    """
    authorize(actor, "correction:hide")
    if entry.hidden:
        raise Conflict("This correction is already hidden.")
    now = utcnow()
    article = db.session.get(Article, entry.article_id)
    entry.hidden_at = now
    entry.hidden_by_id = actor.id
    entry.hidden_reason = reason
    version = article.version
    article.updated_at = now
    flush_guarded(article, version)
    audit.log(
        "correction.hide",
        "correction",
        entry.id,
        actor,
        {"article_id": article.id, "reason": reason},
    )
    return entry


def for_editor(article: Article) -> list[Correction]:
    """Every entry of the article, hidden ones included, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Correction).where(Correction.article_id == article.id).order_by(Correction.id)
        )
    )


def guard(session_factory) -> None:
    """Refuse, at flush time, deleting an entry or changing it other than hiding it once."""

    @sa.event.listens_for(session_factory, "before_flush")
    def _append_only(session: Session, _context, _instances):
        for obj in session.deleted:
            if isinstance(obj, Correction):
                raise AppendOnly("Corrections are never deleted; an admin may hide one.")
        for obj in session.dirty:
            if not isinstance(obj, Correction):
                continue
            state = sa.inspect(obj)
            for attr in state.attrs:
                history = attr.history
                if not history.has_changes():
                    continue
                if attr.key not in HIDE_FIELDS or any(v is not None for v in history.deleted):
                    raise AppendOnly(
                        "Corrections are never edited; append a new one (an admin may hide one)."
                    )
