"""The content generation: a counter that every commit changing content bumps, in the same
transaction as the change.

It is one row (``content_generation``), so the bump's row lock orders the commits that change
content: a reader that sees value ``n`` also sees every change committed before it. The public
response cache stamps entries with the generation read before building them and serves an entry
only while the generation is unchanged, so every app process sees a write the moment it commits,
with or without a shared cache store.

The same row carries two more counters, moved by the same statement as the bump (no extra
round trip): ``event_sequence``, the last number given to an event (a commit that writes ``n``
events reserves the next ``n`` under the row lock, so sequences follow commit order), and
``webhooks_version``, moved by every commit that changes a webhook endpoint (a process may keep
the endpoint list in memory while it stays the same).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

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
_EVENTS = "generation_events"  # session.info: how many event sequences this commit needs
_WEBHOOKS = "generation_webhooks"  # session.info: this commit changes a webhook endpoint
_WEBHOOK_TABLE = "webhook_endpoints"
# session.info key: the generation the last commit of this session produced
COMMITTED = "content_generation"

_SELECT = sa.select(ContentGeneration.value).where(ContentGeneration.id == 1)
# The same read as plain SQL, for a raw driver cursor on the response cache's hot path.
CURRENT_SQL = "SELECT value FROM content_generation WHERE id = 1"


def current(connection: sa.Connection) -> int:
    """The present generation (0 before the first content change)."""
    return connection.execute(_SELECT).scalar() or 0


@dataclass(frozen=True)
class Bumped:
    """The generation row after a commit's bump (read under its lock)."""

    value: int  # the content generation
    event_sequence: int  # the last event sequence given: this commit's are the last ``events``
    events: int
    webhooks_version: int
    webhooks_changed: bool  # this commit changed a webhook endpoint itself


_BUMPS: dict[str, sa.Insert] = {}


def bump_statement(dialect_name: str) -> sa.Insert:
    """The bump, built once per dialect: parameters ``step_value``, ``step_events``,
    ``step_webhooks``; returns ``value``, ``event_sequence``, ``webhooks_version``."""
    statement = _BUMPS.get(dialect_name)
    if statement is None:
        if dialect_name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = ContentGeneration.__table__
        statement = insert(table).values(
            id=1,
            value=sa.bindparam("step_value"),
            event_sequence=sa.bindparam("step_events"),
            webhooks_version=sa.bindparam("step_webhooks"),
        )
        statement = _BUMPS[dialect_name] = statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={
                name: table.c[name] + statement.excluded[name]
                for name in ("value", "event_sequence", "webhooks_version")
            },
        ).returning(table.c.value, table.c.event_sequence, table.c.webhooks_version)
    return statement


def bump(
    session: Session,
    *,
    content: bool = True,
    events: int = 0,
    webhooks: bool = False,
    rider: Callable | None = None,
) -> Bumped:
    """Move the counters inside the session's transaction, in one statement: the generation
    by one (``content``), the event sequence by ``events``, the webhooks' version by one
    (``webhooks``). Returns the row as it is then.

    ``rider(session, statement, parameters)`` may give the statement to run instead: one that
    carries the bump as a ``WITH`` and returns its row (the event log writes its events in the
    bump's own statement that way), with its parameters; or ``None``."""
    statement = bump_statement(session.get_bind().dialect.name)
    parameters = {"step_value": int(content), "step_events": events, "step_webhooks": int(webhooks)}
    ridden = rider(session, statement, parameters) if rider is not None else None
    if ridden is not None:
        statement, parameters = ridden
    row = session.execute(statement, parameters).one()
    return Bumped(row.value, row.event_sequence, events, row.webhooks_version, webhooks)


def mark_changed(session: Session) -> None:
    """Make this transaction's commit bump the generation (e.g. it only records events)."""
    session.info[_CHANGED] = True


def reserve_events(session: Session, count: int) -> None:
    """Make this transaction's commit bump the generation and give ``count`` event sequences."""
    mark_changed(session)
    session.info[_EVENTS] = count


def listen(
    session_factory,
    then: Callable[[Session, Bumped], None] | None = None,
    rider: Callable | None = None,
) -> None:
    """Bump the generation in every commit of ``session_factory`` that changed content (and
    the webhooks' version in every commit that changed a webhook endpoint).

    Install it after every other ``before_commit`` hook that writes (the stored cards): the
    bump comes last, so the row lock is held for as short a time as possible. ``then`` runs
    right after the bump, under its lock, with the row as the bump left it (the event log
    numbers its events there, so their order is the commit order). ``rider``: see
    :func:`bump`."""

    @sa.event.listens_for(session_factory, "after_flush")
    def _mark(session: Session, _context):
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(obj, "__tablename__", None)
            if table == _WEBHOOK_TABLE:
                session.info[_WEBHOOKS] = True
            elif table not in IGNORED_TABLES:
                session.info[_CHANGED] = True

    @sa.event.listens_for(session_factory, "do_orm_execute")
    def _mark_bulk(state):
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(getattr(state.statement, "table", None), "name", None)
            if table == _WEBHOOK_TABLE:
                state.session.info[_WEBHOOKS] = True
            elif table not in IGNORED_TABLES:
                state.session.info[_CHANGED] = True

    @sa.event.listens_for(session_factory, "before_commit")
    def _bump(session: Session):
        if session.in_nested_transaction():
            return  # a savepoint: the enclosing commit bumps
        session.info.pop(COMMITTED, None)
        session.flush()
        changed = session.info.pop(_CHANGED, False)
        events = session.info.pop(_EVENTS, 0)
        webhooks = session.info.pop(_WEBHOOKS, False)
        if changed or events or webhooks:
            bumped = bump(session, content=changed, events=events, webhooks=webhooks, rider=rider)
            if changed:
                session.info[COMMITTED] = bumped.value
            if then is not None:
                then(session, bumped)

    @sa.event.listens_for(session_factory, "after_transaction_end")
    def _forget(session: Session, transaction):
        # Only the outermost transaction: a rolled-back savepoint leaves the changes made
        # around it to be committed.
        if transaction.parent is None:
            for key in (_CHANGED, _EVENTS, _WEBHOOKS):
                session.info.pop(key, None)
