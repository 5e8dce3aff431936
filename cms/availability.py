"""Which errors mean a backing service cannot be reached for a moment (a database restart or
failover, a dropped connection, Redis going away), so that the request gets a 503 problem with
``Retry-After`` instead of a 500.

One classifier for every place such an error can surface: the error handlers (views, JWT and
login-session lookups, commits, request hooks, the rate limiter), the response cache middleware
(whose lookup runs before Flask) and the request teardown. An error it does not recognise is
not an outage: it stays a 500.
"""

from __future__ import annotations

import re
import sqlite3

import psycopg
import redis
import sqlalchemy as sa

# What a 503 of an outage tells the client to wait before retrying, in seconds. A PostgreSQL
# restart takes a few seconds; the pool reconnects on the first request after it.
RETRY_AFTER_SECONDS = 5

_SQLITE_OUTAGE = re.compile(r"database is locked|database table is locked|unable to open|disk I/O")

DATABASE = "database"
REDIS = "redis"


def unavailable_service(error: BaseException | None) -> str | None:
    """``"database"`` or ``"redis"`` when ``error``, or an error it was raised from, says that
    service cannot be reached right now; ``None`` for every other error."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        service = _service(error)
        if service is not None:
            return service
        # what it was raised from: the driver's error under SQLAlchemy's, Redis's under
        # limits' StorageError (``raise ... from``; never the implicit context)
        cause = error.__cause__
        if cause is None and isinstance(error, sa.exc.DBAPIError):
            cause = error.orig
        error = cause
    return None


# SQLSTATEs of a server that cannot serve the connection: connection exceptions (class 08),
# admin or crash shutdown, "cannot connect now" (starting up), the database dropped, an idle
# session's timeout, too many connections. ``None``: an error of the driver itself (refused,
# timed out, closed), with no answer from the server.
_OUTAGE_STATES = frozenset({"57P01", "57P02", "57P03", "57P04", "57P05", "53300"})


def _outage_state(sqlstate: str | None) -> bool:
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _OUTAGE_STATES


def _service(error: BaseException) -> str | None:
    if isinstance(error, sa.exc.DBAPIError):
        # a disconnect SQLAlchemy recognised; else the driver's error (its cause) decides
        return DATABASE if error.connection_invalidated else None
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return DATABASE
    if isinstance(error, sa.exc.PendingRollbackError) and error.code == "8s2b":
        return DATABASE  # the connection was invalidated inside the transaction
    if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        # refused or cut connections, "the database system is shutting down / starting up",
        # an administrator's termination, too many connections; a connection already closed.
        # Not the rest of OperationalError's SQLSTATEs, which a reachable server answers to
        # one statement: a deadlock, a serialization failure, a statement or lock timeout
        # (500s, logged with their traceback, like any error that is not an outage).
        return DATABASE if _outage_state(error.sqlstate) else None
    if isinstance(error, sqlite3.OperationalError) and _SQLITE_OUTAGE.search(str(error)):
        # locked by another writer beyond the busy timeout, the file out of reach; not the
        # rest of SQLite's OperationalError ("no such table", a syntax error: 500s)
        return DATABASE
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return REDIS
    return None
