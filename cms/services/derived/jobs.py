"""Derived data computed by the worker, after the commit of the save that made it due.

A save keeps inside its transaction what a reader sees the moment it answers (the article, its
card, summary, search entry, event and its similarity features) and records a row in
``derived_jobs`` (:func:`cms.services.related.suggestions.enqueue`) for the rest: the article's
own suggestion list (ranked at read time while the row waits), with the semantic backend its
embedding, and offering the article to the suggestion lists of other articles. A bulk import
records only the rows; the articles' features and lists are made here, a whole claimed batch at
once (:func:`cms.services.related.suggestions.update_batch`).

The rows are an outbox with leases, like webhook deliveries: :func:`claim` leases due rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same row), and each
job's work commits together with the deletion of its row, so a worker killed mid-job loses
nothing (the lease expires and another worker takes the row) and a finished job is never run
twice. A row saved again while it ran keeps waiting (its ``version`` moved) and runs once more.
A lock conflict between two workers rolls back one job, which is released and retried.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from cms.clock import utcnow
from cms.extensions import db
from cms.models import Article, ArticleFeatures, DerivedJob
from cms.services.related import suggestions

log = logging.getLogger(__name__)

# A job taking longer than this is presumed dead and is leased again.
LEASE_SECONDS = 300
# Rows one worker takes at once: the worker's batches, and the drain's.
BATCH = 50
_RETRY_STATES = ("40P01", "40001")  # deadlock, serialization failure


@dataclass(frozen=True)
class Lease:
    token: str
    jobs: list[tuple[int, int]]  # (article id, version)


def pending() -> int:
    """How many articles wait for their derived data."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(DerivedJob)) or 0


def claim(limit: int = BATCH) -> Lease | None:
    """Lease up to ``limit`` due jobs, oldest first; None when none is due. Commits."""
    now = utcnow()
    due = (
        sa.select(DerivedJob.article_id)
        .where(sa.or_(DerivedJob.lease_until.is_(None), DerivedJob.lease_until < now))
        .order_by(DerivedJob.enqueued_at, DerivedJob.article_id)
        .limit(limit)
    )
    if db.session.execute(due.limit(1)).first() is None:
        db.session.rollback()
        return None  # no write: SQLite would take its write lock for nothing
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    token = uuid.uuid4().hex
    try:
        rows = db.session.execute(
            sa.update(DerivedJob)
            .where(DerivedJob.article_id.in_(due.scalar_subquery()))
            .values(
                lease_token=token,
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
                attempts=DerivedJob.attempts + 1,
            )
            .returning(DerivedJob.article_id, DerivedJob.version)
        ).all()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if not rows:
        return None
    return Lease(token, sorted((a, v) for a, v in rows))


def _finish(token: str, jobs: list[tuple[int, int]]) -> None:
    """In the job's own transaction: delete the rows still at the leased version, release the
    others (saved again meanwhile: they run once more)."""
    for article_id, version in jobs:
        done = db.session.execute(
            sa.delete(DerivedJob).where(
                DerivedJob.article_id == article_id,
                DerivedJob.lease_token == token,
                DerivedJob.version == version,
            )
        ).rowcount
        if not done:
            _release(token, [article_id])


def _release(token: str, article_ids: list[int]) -> None:
    db.session.execute(
        sa.update(DerivedJob)
        .where(DerivedJob.article_id.in_(article_ids), DerivedJob.lease_token == token)
        .values(lease_token=None, lease_until=None)
    )


def _commit_or_release(token: str, jobs: list[tuple[int, int]], work) -> bool:
    """Run ``work()`` and finish ``jobs`` in one transaction; on a lock conflict roll back and
    release them for another round. True when committed."""
    try:
        work()
        _finish(token, jobs)
        db.session.commit()
        return True
    except DBAPIError as exc:
        # A database error (a lock conflict, SQLite busy, a restart): release the jobs so the
        # next round retries them, rather than leaving them to the lease's expiry. Other
        # errors keep the lease: such a job is retried only after LEASE_SECONDS.
        db.session.rollback()
        try:
            _release(token, [a for a, _ in jobs])
            db.session.commit()
        except DBAPIError:
            db.session.rollback()  # the lease expires instead
        if getattr(exc.orig, "sqlstate", None) not in _RETRY_STATES:
            raise
        log.info("derived data for %s: lock conflict, retried", [a for a, _ in jobs])
        return False


def run(lease: Lease) -> int:
    """Do the leased jobs; the number done. Articles never given features (a bulk import) are
    done together, in one transaction; the others one transaction each."""
    held = set(
        db.session.scalars(
            sa.select(DerivedJob.article_id).where(DerivedJob.lease_token == lease.token)
        )
    )
    ids = [a for a, _ in lease.jobs if a in held]  # a lease that expired was taken over
    version = dict(lease.jobs)
    existing = set(db.session.scalars(sa.select(Article.id).where(Article.id.in_(ids))))
    with_features = set(
        db.session.scalars(
            sa.select(ArticleFeatures.article_id).where(ArticleFeatures.article_id.in_(ids))
        )
    )
    gone = [a for a in ids if a not in existing]
    fresh = [a for a in ids if a in existing and a not in with_features]
    saved = [a for a in ids if a in with_features]
    done = 0
    if gone:
        _commit_or_release(lease.token, [(a, version[a]) for a in gone], lambda: None)
    if fresh:

        def batch():
            articles = db.session.scalars(
                sa.select(Article).where(Article.id.in_(fresh)).order_by(Article.id)
            ).all()
            suggestions.update_batch(list(articles))

        if _commit_or_release(lease.token, [(a, version[a]) for a in fresh], batch):
            done += len(fresh)
    for article_id in saved:

        def one(article_id=article_id):
            article = db.session.get(Article, article_id)
            suggestions.update_features(article)
            suggestions.refresh_suggestions(article_id, guarded=False)

        if _commit_or_release(lease.token, [(article_id, version[article_id])], one):
            done += 1
    return done


def run_pending(*, limit: int | None = None, batch: int = BATCH) -> int:
    """Run due jobs until none is left (or ``limit`` are done); the number done. The drain of
    ``flask --app wsgi derived run-pending`` and of tests."""
    done = 0
    while limit is None or done < limit:
        lease = claim(batch if limit is None else min(batch, limit - done))
        if lease is None:
            break
        done += run(lease)
    return done
