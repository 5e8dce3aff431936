"""Newsroom content API: ``create_app`` builds the Flask application."""

from __future__ import annotations

import logging
import os

from flask import Flask

from cms.config import load_config
from cms.extensions import cors, db, jwt, limiter, migrate


def create_app(config: dict | None = None) -> Flask:
    """config -> extensions -> blueprints -> error handlers -> CLI.

    ``config`` overrides what the environment says (tests pass their database URL here).
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("CMS_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_mapping(load_config(app.instance_path))
    if config:
        app.config.update(config)
        if "SQLALCHEMY_DATABASE_URI" in config and "SQLALCHEMY_ENGINE_OPTIONS" not in config:
            from cms.config import engine_options

            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
                config["SQLALCHEMY_DATABASE_URI"],
                pre_ping=app.config["CMS_DATABASE_PRE_PING"],
                connect_timeout=app.config["CMS_DATABASE_CONNECT_TIMEOUT"],
            )
    _check_related_backend(app)
    logging.basicConfig(
        level=app.config["CMS_LOG_LEVEL"],
        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
    )

    from cms.json import OrjsonProvider
    from cms.web import install_request_hooks

    app.json = OrjsonProvider(app)
    _init_extensions(app)

    from cms.api import register_api
    from cms.api.blueprint import IdConverter
    from cms.problems import register_error_handlers

    app.url_map.converters["int"] = IdConverter
    register_api(app)
    if app.config.get("CMS_SERVE_SITE"):
        _register_site(app)
    register_error_handlers(app)
    install_request_hooks(app)

    from cms.api.public.fast import FastReads
    from cms.cache.middleware import CachedResponses

    # The hot anonymous reads are answered before Flask's request machinery, and public GETs
    # the response cache can answer never enter Flask.
    app.wsgi_app = CachedResponses(app, FastReads(app, app.wsgi_app))

    from cms.cli import register_cli

    register_cli(app)
    return app


def _check_related_backend(app: Flask) -> None:
    """``CMS_RELATED_BACKEND=semantic`` refuses to start without the semantic extra."""
    if app.config.get("CMS_RELATED_BACKEND") != "semantic":
        return
    from cms.config import ConfigError
    from cms.services.related import embeddings

    if not embeddings.is_available():
        raise ConfigError(
            "CMS_RELATED_BACKEND=semantic needs the semantic extra: pip install -e .[semantic]"
        )


def _register_site(app: Flask) -> None:
    """The reference news site at ``/`` (``CMS_SERVE_SITE``): static pages on the public API."""
    from cms import site
    from cms.config import ConfigError

    if not (site.SITE_DIR / "index.html").is_file():
        raise ConfigError(
            f"CMS_SERVE_SITE=1 needs the site's files in {site.SITE_DIR} (a checkout of the "
            "repository, installed with pip install -e .)"
        )
    app.register_blueprint(site.blp)


def _init_extensions(app: Flask) -> None:
    from cms.database import enable_sqlite_foreign_keys

    db.init_app(app)
    with app.app_context():
        enable_sqlite_foreign_keys(db.engine)
    migrate.init_app(
        app,
        db,
        render_as_batch=True,
        directory=os.path.join(os.path.dirname(__file__), "..", "migrations"),
    )
    jwt.init_app(app)
    import cms.auth.tokens  # noqa: F401  (registers the JWT callbacks)

    if app.config["RATELIMIT_KEY_PREFIX"] == "cms-limits":
        from cms.cache.store import database_namespace

        # Per database: deployments sharing one Redis keep their own counters.
        namespace = database_namespace(app.config["SQLALCHEMY_DATABASE_URI"])
        app.config["RATELIMIT_KEY_PREFIX"] = f"cms-limits:{namespace}"
    if app.config["RATELIMIT_STORAGE_URI"].startswith("cms+database:"):
        from cms.rate_limits import storage_uri

        with app.app_context():
            app.config["RATELIMIT_STORAGE_URI"] = storage_uri(db.engine)
    limiter.init_app(app)
    from cms.config import cors_settings

    cors.init_app(app, **cors_settings(app.config))
    # Imported here: once ``cms.api`` is imported, the package attribute ``cms.api`` is that
    # module, which would shadow a module-level ``api`` name on a second ``create_app``.
    from cms.api.smorest import api

    api.init_app(app)

    from cms.cache.store import init_cache
    from cms.services.derived import registry

    # Write-time hooks (the corrections guard, search, counts, cards, events, the content
    # generation), in the order cms.services.derived.registry lists them; then the response
    # cache hears of each commit.
    registry.install(db.session)
    init_cache(app, db.session)
