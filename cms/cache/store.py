"""Shared response cache for the public API, invalidated by every content change.

Entries are keyed by the request (scheme, ``Origin``, path and query string) and stamped with
the *content generation* read before the response was built (``cms.services.generation``: a
counter bumped in the same transaction as every commit that changes content); an entry of an
older generation is never served. Without Redis each process keeps its own entries and reads
the generation from the database on every lookup (one primary-key read), so a change committed
through any process is seen by all of them at once. With ``CMS_REDIS_URL`` the entries and a
copy of the generation (bumped after each such commit) live in Redis, shared by every process,
one round trip per lookup. An entry also never outlives the next scheduled publication time, so
a scheduled article appears on time.

An entry is the complete response as the app sent it (status, headers, body) minus what belongs
to one request only (``X-Request-ID``, ``Content-Length``, ``Date``, rate-limit headers);
``cms.cache.middleware`` answers from it without entering Flask.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask_limiter import HeaderNames
from sqlalchemy.orm import Session

from cms.availability import DATABASE, unavailable_service
from cms.clock import utcnow
from cms.services.generation import COMMITTED, CURRENT_SQL

GENERATION_KEY = "cms:content-generation"
ENTRY_PREFIX = "cms:response:"
# WSGI environ key of a request the cache was asked for and did not have: (key, generation).
MISSED = "cms.response_cache.missed"
# Headers that belong to one request, not to the cached response.
PER_REQUEST_HEADERS = frozenset(
    {"x-request-id", "content-length", "date", *(name.value.lower() for name in HeaderNames)}
)

_log = logging.getLogger("cms.cache.store")


@dataclass(frozen=True, slots=True)
class CachedResponse:
    generation: int
    status: int  # 200 or 301
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def capture(cls, generation: int, status: int, response) -> CachedResponse:
        """``response`` after every after-request hook; ``status`` before ``make_conditional``."""
        headers = tuple(
            (k, v) for k, v in response.headers.items() if k.lower() not in PER_REQUEST_HEADERS
        )
        return cls(generation, status, headers, response.get_data())

    def encode(self) -> bytes:
        return orjson.dumps([self.generation, self.status, self.headers]) + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> CachedResponse:
        meta, _, body = raw.partition(b"\n")
        generation, status, headers = orjson.loads(meta)
        return cls(generation, status, tuple(map(tuple, headers)), body)


class GenerationReader:
    """Reads the content generation on a connection of each thread's own, in autocommit mode:
    no pool checkout and no transaction per lookup, one short statement (no round trip at all
    on SQLite). A connection that failed is dropped; the next lookup opens a new one."""

    def __init__(self, engine: sa.Engine, connect_args: dict | None = None):
        self._app_engine = engine
        # Its own engine without a pool: these connections never take the app's pool slots.
        # The app's connect arguments (timeouts) hold for it too.
        self._engine = sa.create_engine(
            engine.url, poolclass=sa.pool.NullPool, connect_args=connect_args or {}
        )
        self._local = threading.local()

    def __call__(self) -> int:
        try:
            connection = getattr(self._local, "connection", None)
            if connection is not None:
                try:
                    return self._read(connection)
                except Exception as error:
                    if unavailable_service(error) != DATABASE:
                        raise
                    # Cut while idle (a restart): try once more on a new connection.
            return self._read(self._connect())
        except Exception as error:
            if unavailable_service(error) == DATABASE:
                # The server went away (a restart): the app's pooled connections are cut too.
                # Let the pool open new ones, as it does when a statement of its own fails.
                self._app_engine.dispose(close=False)
            raise

    def _read(self, connection) -> int:
        try:
            cursor = connection.cursor()
            cursor.execute(CURRENT_SQL)
            row = cursor.fetchone()
            cursor.close()
        except Exception:
            self._local.connection = None
            with contextlib.suppress(Exception):
                connection.close()
            raise
        return row[0] if row else 0

    def _connect(self):
        # Kept checked out for the thread's life (the pool would close it on check-in).
        connection = self._engine.raw_connection()
        if self._engine.dialect.name == "sqlite":
            connection.driver_connection.isolation_level = None  # autocommit: no snapshot held
        else:
            connection.driver_connection.autocommit = True
        self._local.connection = connection
        return connection


class MemoryStore:
    """A bounded in-process LRU of ``key -> (expires_at, entry)``; the generation is read from
    the database on every lookup, so entries made before another process's write are stale.

    Expiry follows the application clock (``cms.clock``), so tests that move time see entries
    expire as a scheduled publication arrives."""

    def __init__(self, engine: sa.Engine, connect_args: dict | None = None, max_entries=2048):
        self._generation = GenerationReader(engine, connect_args)
        self._entries: OrderedDict[str, tuple[float, CachedResponse]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def bump(self) -> None:
        """This process wrote: its entries are stale (frees them at once)."""
        with self._lock:
            self._entries.clear()

    def lookup(self, key: str) -> tuple[int, CachedResponse | None]:
        generation = self._generation()
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return generation, None
            if item[0] <= utcnow().timestamp():
                del self._entries[key]
                return generation, None
            self._entries.move_to_end(key)
            return generation, item[1]

    def set(self, key: str, entry: CachedResponse, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (utcnow().timestamp() + ttl, entry)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class RedisStore:
    """Entries and generation in Redis, shared by every process; one round trip per lookup.

    Keys carry a ``namespace`` (made from the database URL by ``init_cache``), so two
    deployments that share one Redis (staging and production) never answer from each
    other's entries."""

    def __init__(self, url: str, namespace: str = ""):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        prefix = f"{namespace}:" if namespace else ""
        self._generation_key = prefix + GENERATION_KEY
        self._entry_prefix = prefix + ENTRY_PREFIX

    def bump(self) -> None:
        self._redis.incr(self._generation_key)

    def lookup(self, key: str) -> tuple[int, CachedResponse | None]:
        generation, raw = self._redis.mget(self._generation_key, self._entry_prefix + key)
        return int(generation or 0), CachedResponse.decode(raw) if raw else None

    def set(self, key: str, entry: CachedResponse, ttl: float) -> None:
        self._redis.set(self._entry_prefix + key, entry.encode(), px=max(1, int(ttl * 1000)))


def database_namespace(database_url: str) -> str:
    """A short name for the database the app serves, for keys in a store shared with others."""
    return hashlib.sha256(database_url.encode()).hexdigest()[:12]


class ResponseCache:
    def __init__(self, store, seconds: int):
        self.store = store
        self.seconds = seconds

    def lookup(self, key: str) -> tuple[int, CachedResponse | None]:
        """The current generation and the entry of this generation, if any.

        Raises when the store is unreachable: the middleware then answers 503 if that is the
        database (the generation is unknown), or lets the app build the answer if it is Redis."""
        generation, entry = self.store.lookup(key)
        if entry is not None and entry.generation != generation:
            entry = None  # made before the latest content change
        return generation, entry

    def store_response(self, key: str, entry: CachedResponse) -> None:
        """Keep ``entry``; a failure (the database or Redis went away after the response was
        made) only leaves it out of the cache: the response itself is sent as it is."""
        try:
            ttl = self.seconds
            upcoming = next_scheduled_publication()
            if upcoming is not None:
                ttl = min(ttl, max(0.0, (upcoming - utcnow()).total_seconds()))
            if ttl >= 1:
                self.store.set(key, entry, ttl)
        except Exception as error:
            _log.warning(
                "response not cached (%s.%s: %s)",
                type(error).__module__,
                type(error).__qualname__,
                error,
            )

    def invalidate(self) -> None:
        try:
            self.store.bump()
        except Exception:
            _log.error("could not invalidate the response cache", exc_info=True)


def next_scheduled_publication() -> datetime | None:
    from cms.extensions import db
    from cms.models import Article

    return db.session.scalar(
        sa.select(sa.func.min(Article.published_at)).where(
            Article.status == "scheduled", Article.published_at > utcnow()
        )
    )


def response_cache() -> ResponseCache | None:
    return current_app.extensions.get("cms_response_cache")


def init_cache(app: Flask, session_factory) -> None:
    """Create the app's cache; a session hook below tells Redis after content commits."""
    seconds = min(app.config["CMS_RESPONSE_CACHE_SECONDS"], app.config["CMS_CACHE_MAX_AGE"])
    if seconds <= 0:
        return
    url = app.config.get("CMS_REDIS_URL")
    if url:
        store = RedisStore(url, database_namespace(app.config["SQLALCHEMY_DATABASE_URI"]))
    else:
        from cms.extensions import db

        options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
        with app.app_context():
            store = MemoryStore(db.engine, options.get("connect_args"))
    app.extensions["cms_response_cache"] = ResponseCache(store, seconds)
    _listen_once(session_factory)


_listening: set[int] = set()


def _listen_once(session_factory) -> None:
    """Hook the session once per process: after a commit that bumped the content generation,
    the app's cache store hears of it (Redis: the shared copy of the generation)."""
    if id(session_factory) in _listening:
        return
    _listening.add(id(session_factory))

    @sa.event.listens_for(session_factory, "after_commit")
    def _bump(session: Session):
        if session.info.pop(COMMITTED, None) is not None and has_app_context():
            cache = response_cache()
            if cache is not None:
                cache.invalidate()
