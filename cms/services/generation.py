"""The content generation: a counter that every commit changing content bumps, in the same
transaction as the change.

It is one row (``content_generation``), so the bump's row lock orders the commits that change
content: a reader that sees value ``n`` also sees every change committed before it. The public
response cache stamps entries with the generation read before building them and serves an entry
only while the generation is unchanged, so every app process sees a write the moment it commits,
with or without a shared cache store.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cms.database import upsert
from cms.models import ContentGeneration

# Writes to these tables do not change what the public API shows.
# The event log and the webhook outbox are written after the bump (or by the worker).
IGNORED_TABLES = frozenset(
    {
        "login_sessions",
        "audit_events",
        "content_generation",
        "derived_jobs",
        "events",
        "event_topics",
        "article_event_states",
        "webhook_endpoints",
        "webhook_deliveries",
        "webhook_attempts",
    }
)
_CHANGED = "content_changed"
# session.info key: the generation the last commit of this session produced
COMMITTED = "content_generation"

_SELECT = sa.select(ContentGeneration.value).where(ContentGeneration.id == 1)
# The same read as plain SQL, for a raw driver cursor on the response cache's hot path.
CURRENT_SQL = "SELECT value FROM content_generation WHERE id = 1"


def current(connection: sa.Connection) -> int:
    """The present generation (0 before the first content change)."""
    return connection.execute(_SELECT).scalar() or 0


def bump(session: Session) -> int:
    """Add one to the generation inside the session's transaction; the new value."""
    statement = upsert(session, ContentGeneration).values(id=1, value=1)
    statement = statement.on_conflict_do_update(
        index_elements=[ContentGeneration.id],
        set_={"value": ContentGeneration.value + 1},
    ).returning(ContentGeneration.value)
    return session.execute(statement).scalar_one()


def mark_changed(session: Session) -> None:
    """Make this transaction's commit bump the generation (e.g. it only records events)."""
    session.info[_CHANGED] = True


def listen(session_factory, then: Callable[[Session, int], None] | None = None) -> None:
    """Bump the generation in every commit of ``session_factory`` that changed content.

    Install it after every other ``before_commit`` hook that writes (the stored cards): the
    bump comes last, so the row lock is held for as short a time as possible. ``then`` runs
    right after the bump, under its lock, with the new value (the event log numbers its
    events there, so their order is the commit order)."""

    @sa.event.listens_for(session_factory, "after_flush")
    def _mark(session: Session, _context):
        for obj in (*session.new, *session.dirty, *session.deleted):
            if getattr(obj, "__tablename__", None) not in IGNORED_TABLES:
                session.info[_CHANGED] = True
                return

    @sa.event.listens_for(session_factory, "do_orm_execute")
    def _mark_bulk(state):
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) not in IGNORED_TABLES:
                state.session.info[_CHANGED] = True

    @sa.event.listens_for(session_factory, "before_commit")
    def _bump(session: Session):
        if session.in_nested_transaction():
            return  # a savepoint: the enclosing commit bumps
        session.info.pop(COMMITTED, None)
        session.flush()
        if session.info.pop(_CHANGED, False):
            session.info[COMMITTED] = value = bump(session)
            if then is not None:
                then(session, value)

    @sa.event.listens_for(session_factory, "after_transaction_end")
    def _forget(session: Session, transaction):
        # Only the outermost transaction: a rolled-back savepoint leaves the changes made
        # around it to be committed.
        if transaction.parent is None:
            session.info.pop(_CHANGED, None)
