"""Article revisions: every change is recorded; list, read, diff and restore (no HTTP here).

Storage: a revision always stores who, when, its kind, the names of the changed fields, the
resulting status and article version. It stores a content ``snapshot`` only when content changed:
all metadata fields (small) and the ``body`` only when the body itself changed. Status-only,
summary and related-link changes store no content at all. The content at revision *n* is
rebuilt field by field from the latest snapshot at or before *n* that holds the field, so an
article that is edited 100 times and published 10 times keeps as many body copies as the number
of body edits, not of revisions. The first revision of an article always has a full snapshot.
"""

from __future__ import annotations

import difflib

import sqlalchemy as sa

from cms.auth.permissions import authorize
from cms.clock import utcnow
from cms.errors import NotFound, ValidationFailed
from cms.extensions import db
from cms.models import CONTENT_FIELDS, Article, Revision, User
from cms.pagination import Page, keyset_page
from cms.services.content.rendering import render_text
from cms.text import rfc3339

# The content a snapshot holds, in the shape the editor API accepts on input.
METADATA_FIELDS = tuple(f for f in CONTENT_FIELDS if f != "body")


def content_of(article: Article, *, with_body: bool = True) -> dict:
    """The article's content fields as the editor API takes them (slugs for references)."""
    content = {
        "title": article.title,
        "subtitle": article.subtitle,
        "slug": article.slug,
        "section": article.section.slug if article.section else None,
        "tags": [t.slug for t in article.tags],
        "authors": [a.slug for a in article.authors],
        "sources": [s.slug for s in article.explicit_sources],
        "language": article.language,
        "hero_image": article.hero_image,
        "canonical_url": article.canonical_url,
        "excerpt": article.custom_excerpt,
    }
    if with_body:
        content["body"] = article.body or []
    return content


def _lock_article(article: Article) -> None:
    """Serialise revision numbering per article (a no-op on SQLite, whose writes are serial).
    FOR NO KEY UPDATE: it does not block rows of other tables that refer to the article (their
    foreign-key checks), e.g. a worker offering it to other suggestion lists."""
    db.session.execute(
        sa.select(Article.id).where(Article.id == article.id).with_for_update(key_share=True)
    )


def record(
    article: Article,
    actor: User | None,
    kind: str,
    changed: list[str],
    detail: dict | None = None,
    *,
    locked: bool = False,
) -> Revision:
    """Store the revision made by a change that has just been applied to ``article``.

    Flushes first, so that the article has its id and its new version. ``locked``: this
    transaction has already updated the article's row (its version), which holds the lock
    that :func:`_lock_article` would take. The first revision of an article inserted by this
    transaction (``create``) is number 1: no other transaction can see the article yet.
    """
    db.session.flush()
    if kind == "create":
        last = None
    else:
        if not locked:
            _lock_article(article)
        last = db.session.scalar(
            sa.select(sa.func.max(Revision.number)).where(Revision.article_id == article.id)
        )
    content_changed = [f for f in changed if f in CONTENT_FIELDS]
    snapshot = None
    if last is None or kind == "create":
        snapshot = content_of(article)
    elif content_changed:
        snapshot = content_of(article, with_body="body" in content_changed)
    revision = Revision(
        article_id=article.id,
        number=(last or 0) + 1,
        article_version=article.version,
        kind=kind,
        changed=list(changed),
        status=article.status,
        snapshot=snapshot,
        detail=detail,
        actor_id=actor.id if actor is not None else None,
        created_at=utcnow(),
    )
    # Written by the next flush, with the audit event the caller adds next (one flush less).
    db.session.add(revision)
    return revision


def list_revisions(
    article: Article, *, actor: User, limit: int, cursor: list | None = None, count: bool = False
) -> Page:
    """The article's revisions, newest first."""
    authorize(actor, "article:read", article)
    query = sa.select(Revision).where(Revision.article_id == article.id)
    return keyset_page(
        query, Revision.number, descending=True, limit=limit, cursor=cursor, count=count
    )


def _revision(article: Article, number: int) -> Revision:
    revision = db.session.scalar(
        sa.select(Revision).where(Revision.article_id == article.id, Revision.number == number)
    )
    if revision is None:
        raise NotFound(f"Article {article.id} has no revision {number}.")
    return revision


def content_at(article: Article, number: int) -> dict:
    """The article's content as it was right after revision ``number``."""
    snapshots = db.session.scalars(
        sa.select(Revision.snapshot)
        .where(
            Revision.article_id == article.id,
            Revision.number <= number,
            Revision.snapshot.is_not(None),
        )
        .order_by(Revision.number.desc())
    )
    content: dict = {}
    for snapshot in snapshots:
        for name, value in snapshot.items():
            content.setdefault(name, value)
        if len(content) == len(CONTENT_FIELDS):
            break
    return content


class RevisionView:
    """A revision with the content it leads to (for reading one)."""

    def __init__(self, revision: Revision, content: dict):
        self._revision = revision
        self.content = content

    def __getattr__(self, name):
        return getattr(self._revision, name)


def get_revision(article: Article, number: int, *, actor: User) -> RevisionView:
    authorize(actor, "article:read", article)
    revision = _revision(article, number)
    return RevisionView(revision, content_at(article, number))


def body_text(blocks: list[dict] | None) -> str:
    return render_text(blocks or [])


def diff(article: Article, a: int, b: int, *, actor: User) -> dict:
    """What differs between revisions ``a`` and ``b``: field by field, and the body as text."""
    authorize(actor, "article:read", article)
    old_rev, new_rev = _revision(article, a), _revision(article, b)
    old, new = content_at(article, a), content_at(article, b)
    fields = [
        {"field": name, "old": old.get(name), "new": new.get(name)}
        for name in METADATA_FIELDS
        if old.get(name) != new.get(name)
    ]
    if old_rev.status != new_rev.status:
        fields.append({"field": "status", "old": old_rev.status, "new": new_rev.status})
    old_text, new_text = body_text(old.get("body")), body_text(new.get("body"))
    lines = difflib.unified_diff(
        old_text.splitlines(),
        new_text.splitlines(),
        fromfile=f"revision {a}",
        tofile=f"revision {b}",
        lineterm="",
    )
    unified = "".join(f"{line}\n" for line in lines)
    return {
        "from_revision": a,
        "to_revision": b,
        "fields": fields,
        "body_changed": old.get("body") != new.get("body"),
        "body_diff": unified,
    }


def content_to_restore(article: Article, number: int) -> dict:
    """The content revision ``number`` brings back; the write itself is ``articles.restore``."""
    _revision(article, number)
    content = content_at(article, number)
    if not content:
        raise ValidationFailed(f"Revision {number} holds no content to restore.")
    return content


def changed_since(article_id: int, version: int) -> list[dict]:
    """Who changed which field after ``version``: the latest change of each field."""
    rows = db.session.scalars(
        sa.select(Revision)
        .where(Revision.article_id == article_id, Revision.article_version > version)
        .order_by(Revision.number.desc())
    )
    out: dict[str, dict] = {}
    for revision in rows:
        for name in revision.changed or []:
            out.setdefault(
                name,
                {
                    "field": name,
                    "by": revision.actor.email if revision.actor else None,
                    "by_id": revision.actor_id,
                    "at": rfc3339(revision.created_at),
                    "revision": revision.number,
                },
            )
    return sorted(out.values(), key=lambda c: c["revision"])
