"""The HTTP surface: the explicit lists of blueprints, and the OpenAPI additions."""

from __future__ import annotations

from flask import Flask, request_finished

from cms.api.smorest import api


def register_api(app: Flask) -> None:
    from cms.api import docs, health
    from cms.api.editor import articles as editor_articles
    from cms.api.editor import audit as editor_audit
    from cms.api.editor import auth as editor_auth
    from cms.api.editor import distribution as editor_distribution
    from cms.api.editor import preview as editor_preview
    from cms.api.editor import revisions as editor_revisions
    from cms.api.editor import taxonomies as editor_taxonomies
    from cms.api.editor import users as editor_users
    from cms.api.editor import webhooks as editor_webhooks
    from cms.api.public import articles as public_articles
    from cms.api.public import changes as public_changes
    from cms.api.public import distribution as public_distribution
    from cms.api.public import preview as public_preview
    from cms.api.public import search as public_search
    from cms.api.public import taxonomies as public_taxonomies
    from cms.cache.http import public_cache_headers, store_in_cache
    from cms.rate_limits import check_only_where_limited, public_rate_limit

    public = [
        public_articles,
        public_taxonomies,
        public_search,
        public_distribution,
        public_changes,
    ]
    editor = [
        editor_auth,
        editor_articles,
        editor_distribution,
        editor_taxonomies,
        editor_users,
        editor_revisions,
        editor_preview,
        editor_audit,
        editor_webhooks,
    ]
    # Public but private: no login, never cached (the module sets its own headers).
    previews = [
        public_preview,
    ]

    docs.name_enums_and_nullable_refs(api)
    app.register_blueprint(health.blp)
    app.register_blueprint(docs.blp)
    for module in public:
        public_rate_limit(module.blp)
        api.register_blueprint(module.blp)
        # Bound to this app, not to the shared blueprint object: create_app can run twice.
        app.after_request_funcs.setdefault(module.blp.name, []).append(public_cache_headers)
    request_finished.connect(store_in_cache, app)
    for module in previews:
        public_rate_limit(module.blp)
        api.register_blueprint(module.blp)
    check_only_where_limited(app, [module.blp for module in public + previews])
    for module in editor:
        api.register_blueprint(module.blp)
    docs.document_security(api)
    docs.document_block_schemas(api)
    docs.document_error_responses(api)
