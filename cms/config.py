"""Settings, read from ``CMS_*`` environment variables when the app is created.

Every setting is listed in ``SETTINGS`` with its default; the README's settings table mirrors it.
Nothing here runs at import time: :func:`load_config` is called by ``create_app``.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from string import Formatter
from urllib.parse import urlsplit

import orjson


class ConfigError(RuntimeError):
    """Raised when the environment does not describe a runnable configuration."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS = [
    Setting(
        "CMS_ENV",
        "development",
        "`development` or `production` (production requires a secret key).",
    ),
    Setting(
        "CMS_DATABASE_URL",
        "sqlite:///<instance>/cms.sqlite3",
        "SQLAlchemy URL; `postgresql+psycopg://...` in production.",
    ),
    Setting(
        "CMS_SECRET_KEY",
        None,
        "Signs tokens and preview links. Required (≥ 32 characters) outside development; "
        "in development one is generated once and kept in `instance/secret_key`.",
    ),
    Setting(
        "CMS_REDIS_URL",
        None,
        "Optional Redis URL for the rate-limit counters and the response cache (without it: "
        "counters in the database, cache entries per process; both agree across processes).",
    ),
    Setting(
        "CMS_CORS_ORIGINS", "*", "Comma-separated origins allowed to call the API from a browser."
    ),
    Setting("CMS_ACCESS_TOKEN_MINUTES", "15", "Lifetime of access tokens."),
    Setting("CMS_REFRESH_TOKEN_DAYS", "14", "Lifetime of refresh tokens."),
    Setting("CMS_CACHE_MAX_AGE", "60", "`max-age` of public responses, in seconds."),
    Setting(
        "CMS_CACHE_STALE_WHILE_REVALIDATE",
        "300",
        "`stale-while-revalidate` of public responses, in seconds.",
    ),
    Setting(
        "CMS_RESPONSE_CACHE_SECONDS",
        "30",
        "Lifetime of public responses in the shared response cache (0: off; capped at "
        "`CMS_CACHE_MAX_AGE`).",
    ),
    Setting(
        "CMS_DATABASE_PRE_PING",
        "0",
        "`1`: test each pooled PostgreSQL connection with a round trip before use. Off: a "
        "connection broken by a database restart fails one request (503), then the pool "
        "reconnects.",
    ),
    Setting(
        "CMS_DATABASE_CONNECT_TIMEOUT",
        "5",
        "Seconds to wait for a new PostgreSQL connection; a database host that does not answer "
        "at all (a failover in progress) then costs a 503 with `Retry-After`, not a hung worker.",
    ),
    Setting("CMS_MAX_BODY_BYTES", "1048576", "Largest accepted request body (413 beyond)."),
    Setting("CMS_LOGIN_LIMIT_ACCOUNT", "5 per 15 minutes", "Failed logins allowed per account."),
    Setting("CMS_LOGIN_LIMIT_IP", "20 per minute", "Failed logins allowed per client IP."),
    Setting(
        "CMS_PUBLIC_RATE_LIMIT",
        "",
        "Optional public API rate limit per client IP, e.g. `600 per minute` (empty: none).",
    ),
    Setting("CMS_PREVIEW_TOKEN_HOURS", "24", "Lifetime of draft preview links."),
    Setting("CMS_LOG_LEVEL", "INFO", "Log level."),
    Setting(
        "CMS_CHANGES_RETENTION_DAYS",
        "90",
        "Days the change feed keeps events; an older cursor gets `410 Gone` (re-crawl).",
    ),
    Setting(
        "CMS_WEBHOOK_ALLOW_PRIVATE",
        "0",
        "`1`: webhooks may target loopback, private and link-local addresses (development, "
        "tests). Off: such URLs are refused at creation and at delivery.",
    ),
    Setting(
        "CMS_WEBHOOK_RETRY_SCHEDULE",
        "5s,5m,30m,2h,5h,10h,10h",
        "Waits before each retry of a failed webhook delivery (±20 % jitter); after the "
        "last the delivery fails. The default retries for about 28 hours.",
    ),
    Setting(
        "CMS_WEBHOOK_TIMEOUT_SECONDS",
        "10",
        "How long a webhook receiver has to answer before the attempt counts as failed.",
    ),
    Setting(
        "CMS_WEBHOOK_LEASE_SECONDS",
        "60",
        "How long a worker holds a claimed delivery; if it dies, another worker retries the "
        "delivery after this (keep it above the timeout).",
    ),
    Setting(
        "CMS_WEBHOOK_DISABLE_AFTER_DAYS",
        "5",
        "An endpoint with no successful delivery for this many days is disabled (audited).",
    ),
    Setting(
        "CMS_WORKER_THREADS",
        "4",
        "Deliveries one `flask worker` process runs at once.",
    ),
    Setting(
        "CMS_WORKER_POLL_SECONDS",
        "0.2",
        "How often a worker looks for due deliveries and scheduled publications.",
    ),
    Setting(
        "CMS_WORKER_QUEUE",
        "cms",
        "Name of the worker's task queue (Redis key prefix with `CMS_REDIS_URL`; else the "
        "SQLite file `instance/<name>-queue.sqlite3`).",
    ),
    Setting(
        "CMS_RELATED_BACKEND",
        "lexical",
        "`lexical` (default) or `semantic`: also compute, store and compare MiniLM sentence "
        "embeddings for related articles (needs `pip install -e .[semantic]`; runs offline).",
    ),
    Setting(
        "CMS_SERVE_SITE",
        "",
        "`1`: serve the reference news site (`site/`) at `/`; `0`: don't. Empty: on in "
        "development, off in production.",
    ),
    Setting(
        "CMS_SITE_URL",
        "http://127.0.0.1:8000",
        "Public address of the front end (no trailing slash): article links in feeds, sitemaps "
        "and structured data.",
    ),
    Setting(
        "CMS_SITE_NAME",
        "Newsroom",
        "The publication's name: feed titles, the Google News sitemap, structured data.",
    ),
    Setting(
        "CMS_SITE_LANGUAGE",
        "en",
        "The publication's main language (a tag like `en` or `de-AT`): feeds, structured data.",
    ),
    Setting(
        "CMS_ARTICLE_URL_TEMPLATE",
        "{site_url}/articles/{slug}",
        "The canonical front-end URL of an article; may use `{site_url}`, `{slug}`, "
        "`{section}` (the section's slug) and `{id}`.",
    ),
    Setting(
        "CMS_SITEMAP_PAGE_SIZE",
        "50000",
        "Article ids per article sitemap page (`articles-{n}.xml` holds ids "
        "`(n-1)*size+1 … n*size`), at most 50,000.",
    ),
]

MIN_SECRET_LENGTH = 32


def _env(name: str, environ: dict) -> str | None:
    value = environ.get(name)
    if value is None or value == "":
        return next(s.default for s in SETTINGS if s.name == name)
    return value


def _dev_secret(instance_path: Path) -> str:
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def sqlalchemy_url(url: str) -> str:
    """A plain ``postgresql://`` (or ``postgres://``) URL names the psycopg 3 driver."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def load_config(instance_path: str, environ: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (``os.environ`` by default)."""
    environ = dict(os.environ if environ is None else environ)
    instance = Path(instance_path)
    env = _env("CMS_ENV", environ)
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"CMS_ENV must be development or production, not {env!r}")

    secret = _env("CMS_SECRET_KEY", environ)
    if secret is None:
        if env == "production":
            raise ConfigError("CMS_SECRET_KEY is required in production")
        secret = _dev_secret(instance)
    if env == "production" and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(f"CMS_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")

    db_url = sqlalchemy_url(
        environ.get("CMS_DATABASE_URL") or f"sqlite:///{instance / 'cms.sqlite3'}"
    )

    pre_ping = _env("CMS_DATABASE_PRE_PING", environ) == "1"
    connect_timeout = int(_env("CMS_DATABASE_CONNECT_TIMEOUT", environ))
    origins = [o.strip() for o in _env("CMS_CORS_ORIGINS", environ).split(",") if o.strip()]

    serve_site = _env("CMS_SERVE_SITE", environ)
    if serve_site not in {"", "0", "1"}:
        raise ConfigError(f"CMS_SERVE_SITE must be 0 or 1, not {serve_site!r}")

    return {
        "CMS_ENV": env,
        "DEBUG": False,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": db_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(
            db_url, pre_ping=pre_ping, connect_timeout=connect_timeout
        ),
        "CMS_DATABASE_PRE_PING": pre_ping,
        "CMS_DATABASE_CONNECT_TIMEOUT": connect_timeout,
        "CMS_REDIS_URL": environ.get("CMS_REDIS_URL") or None,
        "CMS_CORS_ORIGINS": origins,
        "CMS_CACHE_MAX_AGE": int(_env("CMS_CACHE_MAX_AGE", environ)),
        "CMS_CACHE_STALE_WHILE_REVALIDATE": int(_env("CMS_CACHE_STALE_WHILE_REVALIDATE", environ)),
        "CMS_RESPONSE_CACHE_SECONDS": int(_env("CMS_RESPONSE_CACHE_SECONDS", environ)),
        "MAX_CONTENT_LENGTH": int(_env("CMS_MAX_BODY_BYTES", environ)),
        "CMS_LOGIN_LIMIT_ACCOUNT": _env("CMS_LOGIN_LIMIT_ACCOUNT", environ),
        "CMS_LOGIN_LIMIT_IP": _env("CMS_LOGIN_LIMIT_IP", environ),
        "CMS_PUBLIC_RATE_LIMIT": _env("CMS_PUBLIC_RATE_LIMIT", environ) or None,
        "CMS_PREVIEW_TOKEN_TTL": timedelta(hours=int(_env("CMS_PREVIEW_TOKEN_HOURS", environ))),
        "CMS_LOG_LEVEL": _env("CMS_LOG_LEVEL", environ),
        "CMS_CHANGES_RETENTION_DAYS": int(_env("CMS_CHANGES_RETENTION_DAYS", environ)),
        "CMS_WEBHOOK_ALLOW_PRIVATE": _env("CMS_WEBHOOK_ALLOW_PRIVATE", environ) == "1",
        "CMS_WEBHOOK_RETRY_SCHEDULE": _retry_schedule(_env("CMS_WEBHOOK_RETRY_SCHEDULE", environ)),
        "CMS_WEBHOOK_TIMEOUT_SECONDS": float(_env("CMS_WEBHOOK_TIMEOUT_SECONDS", environ)),
        "CMS_WEBHOOK_LEASE_SECONDS": float(_env("CMS_WEBHOOK_LEASE_SECONDS", environ)),
        "CMS_WEBHOOK_DISABLE_AFTER_DAYS": float(_env("CMS_WEBHOOK_DISABLE_AFTER_DAYS", environ)),
        "CMS_WORKER_THREADS": int(_env("CMS_WORKER_THREADS", environ)),
        "CMS_WORKER_POLL_SECONDS": float(_env("CMS_WORKER_POLL_SECONDS", environ)),
        "CMS_WORKER_QUEUE": _env("CMS_WORKER_QUEUE", environ),
        "CMS_RELATED_BACKEND": _related_backend(_env("CMS_RELATED_BACKEND", environ)),
        "CMS_SERVE_SITE": serve_site == "1" or (serve_site == "" and env == "development"),
        **_site_settings(environ),
        # flask-jwt-extended
        "JWT_SECRET_KEY": secret,
        "JWT_ALGORITHM": "HS256",
        "JWT_DECODE_ALGORITHMS": ["HS256"],
        "JWT_TOKEN_LOCATION": ["headers"],
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(
            minutes=int(_env("CMS_ACCESS_TOKEN_MINUTES", environ))
        ),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=int(_env("CMS_REFRESH_TOKEN_DAYS", environ))),
        "JWT_ERROR_MESSAGE_KEY": "detail",
        # flask-smorest / OpenAPI
        "API_TITLE": "Newsroom content API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        # Flask-Limiter
        # Without Redis the counters live in the app's database (cms.rate_limits), so every
        # process counts against the same limits.
        "RATELIMIT_STORAGE_URI": environ.get("CMS_REDIS_URL") or "cms+database://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "cms-limits",
    }


def engine_options(url: str, *, pre_ping: bool = False, connect_timeout: int = 5) -> dict:
    # JSON columns are read with orjson (psycopg and SQLAlchemy use the stdlib's json by
    # default): ~3x faster on an article's body (bench/README.md, round 8). It reads every
    # value the application writes as json does; it differs only on an integer beyond 64
    # bits (read as a float), which no input can bring: request bodies and imports are parsed
    # with orjson too, and the schemas bound the numbers they take.
    if url.startswith("sqlite"):
        return {
            "connect_args": {"check_same_thread": False, "timeout": 30},
            "json_deserializer": orjson.loads,
        }
    # Without the ping, a connection cut by a database restart fails the request using it; on
    # that error SQLAlchemy discards every pooled connection, so the next requests reconnect.
    return {
        "json_deserializer": orjson.loads,
        "pool_pre_ping": pre_ping,
        "pool_size": 5,
        "max_overflow": 5,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": connect_timeout},
    }


_URL_FIELDS = {"site_url", "slug", "section", "id"}
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")


def _site_settings(environ: dict) -> dict:
    """``CMS_SITE_*``, ``CMS_ARTICLE_URL_TEMPLATE`` and ``CMS_SITEMAP_PAGE_SIZE``, checked."""
    site_url = _env("CMS_SITE_URL", environ).strip().rstrip("/")
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"CMS_SITE_URL must be an absolute http(s) URL, not {site_url!r}")
    language = _env("CMS_SITE_LANGUAGE", environ).strip()
    if not _LANGUAGE_RE.match(language):
        raise ConfigError(
            f"CMS_SITE_LANGUAGE must be a language tag like en or de-AT, not {language!r}"
        )
    template = _env("CMS_ARTICLE_URL_TEMPLATE", environ).strip()
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ConfigError(f"CMS_ARTICLE_URL_TEMPLATE is not a valid template: {exc}") from None
    unknown = names - _URL_FIELDS
    if unknown or "slug" not in names and "id" not in names:
        raise ConfigError(
            "CMS_ARTICLE_URL_TEMPLATE may use {site_url}, {slug}, {section} and {id}, and needs "
            f"{{slug}} or {{id}}; got {template!r}"
        )
    example = urlsplit(template.format(site_url=site_url, slug="a", section="s", id=1))
    if example.scheme not in ("http", "https") or not example.netloc:
        raise ConfigError(f"CMS_ARTICLE_URL_TEMPLATE must give absolute http(s) URLs: {template!r}")
    page_size = int(_env("CMS_SITEMAP_PAGE_SIZE", environ))
    if not 1 <= page_size <= 50000:
        raise ConfigError("CMS_SITEMAP_PAGE_SIZE must be between 1 and 50000")
    return {
        "CMS_SITE_URL": site_url,
        "CMS_SITE_NAME": _env("CMS_SITE_NAME", environ).strip(),
        "CMS_SITE_LANGUAGE": language,
        "CMS_ARTICLE_URL_TEMPLATE": template,
        "CMS_SITEMAP_PAGE_SIZE": page_size,
    }


def _retry_schedule(value: str) -> str:
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?[smhd]?(\s*,\s*\d+(\.\d+)?[smhd]?)*\s*", value):
        raise ConfigError(f"CMS_WEBHOOK_RETRY_SCHEDULE must be waits like 5s,5m,2h, not {value!r}")
    return value


def _related_backend(value: str) -> str:
    if value not in {"lexical", "semantic"}:
        raise ConfigError(f"CMS_RELATED_BACKEND must be lexical or semantic, not {value!r}")
    # Whether ``semantic`` can run (its extra is installed) is checked in ``create_app``: this
    # module imports nothing of cms.
    return value


def cors_settings(config) -> dict:
    """flask-cors's options for the API (``cms.api.public.fast`` resolves the same)."""
    return {
        "resources": {r"/api/*": {"origins": config["CMS_CORS_ORIGINS"]}},
        "expose_headers": [
            "ETag",
            "Link",
            "X-Request-ID",
            "Last-Modified",
            "Retry-After",
            "Location",
            "Idempotent-Replayed",
        ],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "If-Match",
            "If-None-Match",
            "X-Request-ID",
            "Idempotency-Key",
        ],
        "max_age": 600,
    }
