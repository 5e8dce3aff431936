"""Shared response cache for the public API, invalidated by every content change.

Entries are keyed by the request (path and query string) and by the *content generation*, a
counter bumped after every commit that changed content. With ``CMS_REDIS_URL`` the counter and
the entries live in Redis, so a change made through one app process is seen by all of them at
once. Without Redis each process keeps its own entries and counter; a change made in another
process then shows after at most ``CMS_RESPONSE_CACHE_SECONDS`` (never more than the public
``max-age``). An entry also never outlives the next scheduled publication time, so a scheduled
article appears on time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

import orjson
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from cms.clock import utcnow

# Writes to these tables do not change public responses.
IGNORED_TABLES = frozenset({"login_sessions", "audit_events"})
GENERATION_KEY = "cms:content-generation"
ENTRY_PREFIX = "cms:response:"


class MemoryStore:
    """A bounded in-process LRU of ``key -> (expires_at, value)`` and a local generation.

    Expiry follows the application clock (``cms.clock``), so tests that move time see entries
    expire as a scheduled publication arrives."""

    def __init__(self, max_entries: int = 2048):
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self.max_entries = max_entries

    def generation(self) -> int:
        return self._generation

    def bump(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            if item[0] <= utcnow().timestamp():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return item[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            self._entries[key] = (utcnow().timestamp() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class RedisStore:
    """Entries and generation in Redis, shared by every process."""

    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def generation(self) -> int:
        value = self._redis.get(GENERATION_KEY)
        return int(value) if value else 0

    def bump(self) -> None:
        self._redis.incr(GENERATION_KEY)

    def get(self, key: str) -> bytes | None:
        return self._redis.get(ENTRY_PREFIX + key)

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._redis.set(ENTRY_PREFIX + key, value, px=max(1, int(ttl * 1000)))


class ResponseCache:
    def __init__(self, store, seconds: int):
        self.store = store
        self.seconds = seconds

    def _key(self, generation: int, request_key: str) -> str:
        return f"{generation}:{request_key}"

    def lookup(self, request_key: str) -> dict | None:
        try:
            raw = self.store.get(self._key(self.store.generation(), request_key))
        except Exception:  # a cache outage must not fail reads
            current_app.logger.warning("response cache unavailable", exc_info=True)
            return None
        return orjson.loads(raw) if raw else None

    def store_response(self, request_key: str, entry: dict) -> None:
        ttl = self.seconds
        upcoming = next_scheduled_publication()
        if upcoming is not None:
            ttl = min(ttl, max(0.0, (upcoming - utcnow()).total_seconds()))
        if ttl < 1:
            return
        try:
            self.store.set(
                self._key(self.store.generation(), request_key), orjson.dumps(entry), ttl
            )
        except Exception:
            current_app.logger.warning("response cache unavailable", exc_info=True)

    def invalidate(self) -> None:
        try:
            self.store.bump()
        except Exception:
            current_app.logger.error("could not invalidate the response cache", exc_info=True)


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
    """Create the app's cache; the session hooks below invalidate it after writing commits."""
    seconds = min(app.config["CMS_RESPONSE_CACHE_SECONDS"], app.config["CMS_CACHE_MAX_AGE"])
    if seconds <= 0:
        return
    url = app.config.get("CMS_REDIS_URL")
    store = RedisStore(url) if url else MemoryStore()
    app.extensions["cms_response_cache"] = ResponseCache(store, seconds)
    _listen_once(session_factory)


_listening: set[int] = set()


def _listen_once(session_factory) -> None:
    """Hook the session once per process; each commit invalidates its own app's cache."""
    if id(session_factory) in _listening:
        return
    _listening.add(id(session_factory))

    @sa.event.listens_for(session_factory, "after_flush")
    def _mark(session: Session, _context):
        for obj in (*session.new, *session.dirty, *session.deleted):
            if getattr(obj, "__tablename__", None) not in IGNORED_TABLES:
                session.info["content_changed"] = True
                return

    @sa.event.listens_for(session_factory, "do_orm_execute")
    def _mark_bulk(state):
        if state.is_insert or state.is_update or state.is_delete:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) not in IGNORED_TABLES:
                state.session.info["content_changed"] = True

    @sa.event.listens_for(session_factory, "after_commit")
    def _bump(session: Session):
        if session.info.pop("content_changed", False) and has_app_context():
            cache = response_cache()
            if cache is not None:
                cache.invalidate()

    @sa.event.listens_for(session_factory, "after_rollback")
    def _forget(session: Session):
        session.info.pop("content_changed", None)
