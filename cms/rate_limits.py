"""Rate limits: the public API's shared limit, and counters in the app's database.

Counters in the database are the default storage of Flask-Limiter when no
``CMS_REDIS_URL`` is set, so every app process counts against the same limits (failed logins
above all). A ``limits`` storage backend for its fixed-window strategy; with Redis configured,
Flask-Limiter uses Redis instead.

Each hit is one upsert in its own short transaction, outside the request's session.
"""

from __future__ import annotations

import functools
import random
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, request
from flask_limiter import HeaderNames, RequestLimit
from limits import parse_many
from limits.storage import Storage

from cms.database import upsert
from cms.extensions import limiter
from cms.models.rate_limit import RateLimitCounter

SCHEME = "cms+database"
_table = RateLimitCounter.__table__


# Engines by the key in their storage URI (``cms+database://<key>``): Flask-Limiter builds the
# storage from the URI string alone.
_engines: dict[str, sa.Engine] = {}


def storage_uri(engine: sa.Engine) -> str:
    """The Flask-Limiter storage URI that keeps counters in ``engine``'s database."""
    key = str(id(engine))
    _engines[key] = engine
    return f"{SCHEME}://{key}"


def _reconnecting(method):
    """Run ``method`` again, once, when its pooled connection turned out to be cut (the pool
    has then been renewed): a database restart costs a counted request nothing."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sa.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            return method(self, *args, **kwargs)

    return run


class DatabaseStorage(Storage):
    """``cms+database://<key>``, made by ``storage_uri``."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.engine = _engines[urlsplit(uri).netloc]

    @property
    def base_exceptions(self):
        return sa.exc.SQLAlchemyError

    @_reconnecting
    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        expired = _table.c.expires_at <= now
        with self.engine.begin() as connection:
            statement = (
                upsert(connection, RateLimitCounter)
                .values(key=key, count=amount, expires_at=now + expiry)
                .on_conflict_do_update(
                    index_elements=[_table.c.key],
                    set_={
                        "count": sa.case((expired, amount), else_=_table.c.count + amount),
                        "expires_at": sa.case((expired, now + expiry), else_=_table.c.expires_at),
                    },
                )
                .returning(_table.c.count)
            )
            count = connection.execute(statement).scalar_one()
            if random.random() < 0.01:  # now and then, forget windows long over
                connection.execute(sa.delete(_table).where(_table.c.expires_at < now - 60))
        return count

    @_reconnecting
    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            count = connection.execute(
                sa.select(_table.c.count).where(
                    _table.c.key == key, _table.c.expires_at > time.time()
                )
            ).scalar()
        return count or 0

    @_reconnecting
    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as connection:
            expires_at = connection.execute(
                sa.select(_table.c.expires_at).where(_table.c.key == key)
            ).scalar()
        return expires_at if expires_at is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    @_reconnecting
    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(sa.delete(_table)).rowcount

    @_reconnecting
    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(_table).where(_table.c.key == key))


# --- the public API's limit (CMS_PUBLIC_RATE_LIMIT) -------------------------------------------

PUBLIC_LIMIT_SCOPE = "public-api"


def public_rate_limit(blueprint) -> None:
    """Apply ``CMS_PUBLIC_RATE_LIMIT`` (per client IP; shared via Redis when configured).

    One budget for the whole public API (a shared limit), not one per blueprint.
    """
    if getattr(blueprint, "_public_rate_limited", False):
        return  # already applied (create_app ran before in this process): count once
    blueprint._public_rate_limited = True
    limiter.shared_limit(
        lambda: current_app.config["CMS_PUBLIC_RATE_LIMIT"] or "1 per second",
        scope=PUBLIC_LIMIT_SCOPE,
        exempt_when=lambda: not current_app.config["CMS_PUBLIC_RATE_LIMIT"],
    )(blueprint)


def check_only_where_limited(app, blueprints) -> None:
    """Skip Flask-Limiter's per-request check for the public ``blueprints`` while no public
    limit is set: their only limit is the shared one above (no default or application limits
    are configured), and resolving that there is none cost ~0.1 ms of CPU per public read.
    Every other request, and every public one once ``CMS_PUBLIC_RATE_LIMIT`` is set, is
    checked as before (its 429 and rate-limit headers unchanged). A limiter disabled by the
    configuration (``RATELIMIT_ENABLED = False``) installs no check: nothing to skip."""
    names = frozenset(blueprint.name for blueprint in blueprints)
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit not in hooks:
        return
    position = hooks.index(limiter._check_request_limit)
    check = hooks[position]

    def check_request_limit():
        if request.blueprint in names and not app.config["CMS_PUBLIC_RATE_LIMIT"]:
            return None
        return check()

    hooks[position] = check_request_limit


def public_limit_headers(app, remote_addr: str | None) -> list[tuple[str, str]] | None:
    """Count a request answered before Flask (the response cache's hits, ``cms.api.public.fast``)
    against the public limit.

    The same storage, keys and order as Flask-Limiter's check of the shared limit above; the
    rate-limit headers it would have added, or ``None`` when the request is over the limit or
    the limit's storage failed (then Flask answers it: the 429 with its problem document, or
    whatever Flask-Limiter decides on a storage failure; a refused request costs nothing
    more). With several limits (``10/second;600/minute``) a request refused by a longer one has
    counted against the shorter ones twice.
    """
    value = app.config["CMS_PUBLIC_RATE_LIMIT"]
    if not value or not limiter.enabled:
        return []
    try:
        return _count_public(app, remote_addr, value)
    except Exception:  # the limit's storage failed: Flask-Limiter decides what to answer
        return None


def _count_public(app, remote_addr: str | None, value: str) -> list[tuple[str, str]] | None:
    args = [remote_addr or "127.0.0.1", PUBLIC_LIMIT_SCOPE]
    if app.config.get("RATELIMIT_KEY_PREFIX"):
        args.insert(0, app.config["RATELIMIT_KEY_PREFIX"])
    items = sorted(parse_many(value))
    for item in items:
        if not limiter.limiter.hit(item, *args):
            return None
    shown = RequestLimit(limiter, items[0], args, breached=False, shared=True)
    reset_at = shown.reset_at
    return [
        (HeaderNames.LIMIT.value, str(shown.limit.amount)),
        (HeaderNames.REMAINING.value, str(shown.remaining)),
        (HeaderNames.RESET.value, str(reset_at)),
        (HeaderNames.RETRY_AFTER.value, str(int(reset_at - time.time()))),
    ]
