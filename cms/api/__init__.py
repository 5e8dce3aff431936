"""The HTTP surface: the explicit list of blueprints, and the OpenAPI additions."""

from __future__ import annotations

from flask import Flask

from cms.extensions import api


def register_api(app: Flask) -> None:
    from cms.api import docs, health
    from cms.api.editor import articles as editor_articles
    from cms.api.editor import auth as editor_auth
    from cms.api.editor import taxonomies as editor_taxonomies
    from cms.api.editor import users as editor_users
    from cms.api.public import articles as public_articles
    from cms.api.public import taxonomies as public_taxonomies

    app.register_blueprint(health.blp)
    app.register_blueprint(docs.blp)
    for module in (
        public_articles,
        public_taxonomies,
        editor_auth,
        editor_articles,
        editor_taxonomies,
        editor_users,
    ):
        api.register_blueprint(module.blp)
    docs.document_security(api)
