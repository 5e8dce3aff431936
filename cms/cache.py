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
``cms.cache_middleware`` answers from it without entering Flask.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import orjson
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from flask_limiter import HeaderNames
from sqlalchemy.orm import Session

from cms.clock import utcnow
from cms.services.generation import COMMITTED
from cms.services.generation import current as current_generation

GENERATION_KEY = "cms:content-generation"
ENTRY_PREFIX = "cms:response:"
# WSGI environ key of a request the cache was asked for and did not have: (key, generation).
MISSED = "cms.response_cache.missed"
# Headers that belong to one request, not to the cached response.
PER_REQUEST_HEADERS = frozenset(
    {"x-request-id", "content-length", "date", *(name.value.lower() for name in HeaderNames)}
)

_log = logging.getLogger("cms.cache")


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


class MemoryStore:
    """A bounded in-process LRU of ``key -> (expires_at, entry)``; the generation is read from
    the database on every lookup, so entries made before another process's write are stale.

    Expiry follows the application clock (``cms.clock``), so tests that move time see entries
    expire as a scheduled publication arrives."""

    def __init__(self, engine: sa.Engine, max_entries: int = 2048):
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._generation = _generation_reader(engine)
        self._entries: OrderedDict[str, tuple[float, CachedResponse]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def bump(self) -> None:
        """This process wrote: its entries are stale (frees them at once)."""
        with self._lock:
            self._entries.clear()

    def lookup(self, key: str) -> tuple[int, CachedResponse | None]:
        if self._generation is not None:
            generation = self._generation.read()
        else:
            with self._engine.connect() as connection:
                generation = current_generation(connection)
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


class _GenerationReader:
    """Reads the content generation on a connection of its own per thread (PostgreSQL).

    The read is on every cached answer, so it skips what a pooled SQLAlchemy connection costs
    around one statement (check-out, reset on return, statement compilation and result
    processing: most of the GIL time of a cached answer): a plain DB-API connection in
    autocommit mode per thread and process, one prepared statement. It sees every committed
    change as a pooled connection would. A connection that failed is dropped, so the next read
    reconnects (after a database restart, say)."""

    def __init__(self, connect):
        self._connect = connect
        self._local = threading.local()

    def read(self) -> int:
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():
            connection = local.connection = self._connect()
            local.pid = os.getpid()
        try:
            with connection.cursor() as cursor:
                cursor.execute(_GENERATION_SQL, prepare=True)
                row = cursor.fetchone()
        except Exception:
            local.connection = None
            with contextlib.suppress(Exception):
                connection.close()
            raise
        return row[0] if row else 0


_GENERATION_SQL = "SELECT value FROM content_generation WHERE id = 1"


def _generation_reader(engine: sa.Engine) -> _GenerationReader | None:
    """A per-thread reader of the generation for psycopg; ``None``: use the pool."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return None
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    dbapi = engine.dialect.loaded_dbapi

    def connect():
        return dbapi.connect(*cargs, **{**cparams, "autocommit": True})

    return _GenerationReader(connect)


class RedisStore:
    """Entries and generation in Redis, shared by every process; one round trip per lookup."""

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def bump(self) -> None:
        self._redis.incr(GENERATION_KEY)

    def lookup(self, key: str) -> tuple[int, CachedResponse | None]:
        generation, raw = self._redis.mget(GENERATION_KEY, ENTRY_PREFIX + key)
        return int(generation or 0), CachedResponse.decode(raw) if raw else None

    def set(self, key: str, entry: CachedResponse, ttl: float) -> None:
        self._redis.set(ENTRY_PREFIX + key, entry.encode(), px=max(1, int(ttl * 1000)))


class ResponseCache:
    def __init__(self, store, seconds: int):
        self.store = store
        self.seconds = seconds

    def lookup(self, key: str) -> tuple[int, CachedResponse | None]:
        """The current generation and the entry of this generation, if any.

        Raises when the store is unreachable (the caller falls through to the app)."""
        generation, entry = self.store.lookup(key)
        if entry is not None and entry.generation != generation:
            entry = None  # made before the latest content change
        return generation, entry

    def store_response(self, key: str, entry: CachedResponse) -> None:
        ttl = self.seconds
        upcoming = next_scheduled_publication()
        if upcoming is not None:
            ttl = min(ttl, max(0.0, (upcoming - utcnow()).total_seconds()))
        if ttl < 1:
            return
        try:
            self.store.set(key, entry, ttl)
        except Exception:
            _log.warning("response cache unavailable", exc_info=True)

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
        store = RedisStore(url)
    else:
        from cms.extensions import db

        with app.app_context():
            store = MemoryStore(db.engine)
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
