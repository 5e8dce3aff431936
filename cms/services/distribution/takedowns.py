"""Admin takedown: remove an article from every public surface at once, and undo it.

The article's status becomes ``taken_down`` (``cms.services.visibility.TAKEN_DOWN``): every
public query starts from the visible articles, so lists, search, feeds, sitemaps, taxonomy
counts, previous/next and other articles' related lists drop it in the same commit, and the
response cache is invalidated by that commit like by any write. Its own public URLs answer 410
with the reason (``visibility.takedown_of``). A :class:`Takedown` row keeps who, when, why and
the status to return to; revoking (admins only) restores that status.
"""

from __future__ import annotations

import sqlalchemy as sa

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import Conflict, InvalidTransition
from cms.extensions import db
from cms.models import Article, Takedown, User
from cms.services import events
from cms.services.accounts import audit
from cms.services.content import revisions
from cms.services.content.articles import check_version, flush_guarded
from cms.services.visibility import TAKEN_DOWN

# What can be taken down: what is public, or will be on its own (a scheduled article).
TAKEDOWN_FROM = frozenset({"published", "scheduled"})


def active_takedown(article: Article) -> Takedown | None:
    return db.session.scalar(
        sa.select(Takedown)
        .where(Takedown.article_id == article.id, Takedown.revoked_at.is_(None))
        .order_by(Takedown.id.desc())
        .limit(1)
    )


def take_down(
    article: Article,
    *,
    reason: str,
    note: str,
    actor: User,
    expected_version: int | None = None,
) -> Takedown:
    """Take ``article`` down. ``expected_version`` (optional: a legal takedown must not wait
    for a reload) refuses with 412 when the article changed since that version.

    Returns the takedown; the commit emits ``article.unpublished`` with ``reason`` (§7).
    """
    authorize(actor, "article:takedown", article)
    if expected_version is not None:
        check_version(article, expected_version)
    version = article.version
    status = article.status
    if status not in TAKEDOWN_FROM:
        raise InvalidTransition(
            f"Only a published or scheduled article can be taken down; this one is {status}."
            + (" A draft is not public: nothing to take down." if status == "draft" else ""),
            current_status=article.effective_status(utcnow()),
            allowed_actions=[],
        )
    now = utcnow()
    article.status = TAKEN_DOWN
    flush_guarded(article, version)
    events.record(db.session, "article.unpublished", article, reason=reason)
    takedown = Takedown(
        article_id=article.id,
        reason=reason,
        note=note,
        previous_status=status,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(takedown)
    detail = {"from": status, "to": TAKEN_DOWN, "reason": reason, "note": note}
    revisions.record(article, actor, "takedown", ["status"], detail)
    audit.log("article.takedown", "article", article.id, actor, detail)
    return takedown


def revoke(article: Article, *, actor: User, expected_version: int | None = None) -> Takedown:
    """Undo the takedown in force: the article returns to the status it had.

    Returns the revoked takedown; if the article is public again, the commit emits
    ``article.published`` (§7).
    """
    authorize(actor, "article:takedown", article)
    if expected_version is not None:
        check_version(article, expected_version)
    takedown = active_takedown(article) if article.status == TAKEN_DOWN else None
    if takedown is None:
        raise Conflict(
            f"This article is not taken down (it is {article.status}).",
            current_status=article.status,
        )
    version = article.version
    article.status = takedown.previous_status
    flush_guarded(article, version)
    takedown.revoked_at = utcnow()
    takedown.revoked_by_id = actor.id
    detail = {"from": TAKEN_DOWN, "to": article.status, "reason": takedown.reason}
    revisions.record(article, actor, "takedown-revoke", ["status"], detail)
    audit.log("article.takedown.revoke", "article", article.id, actor, detail)
    return takedown
