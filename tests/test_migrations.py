"""The Alembic migrations build exactly the schema the models describe, and run both ways."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from cms.extensions import db
from cms.services.search.index import include_in_autogenerate
from tests.conftest import make_article


def _drift() -> list:
    """What autogenerate would put into a new migration (empty when nothing drifted).

    The only objects left out are those of the full-text search index (an FTS5 virtual table
    and its shadow tables on SQLite, a table with a GIN index on PostgreSQL): the migration
    creates them on purpose outside the models, exactly as ``migrations/env.py`` leaves them
    out of autogenerate.
    """
    db.session.remove()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": include_in_autogenerate, "compare_type": True,
                  "compare_server_default": False},
        )
        return compare_metadata(context, db.metadata)


def _script() -> ScriptDirectory:
    from flask import current_app

    return ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())


def test_there_is_one_head():
    assert len(_script().get_heads()) == 1, _script().get_heads()


def test_models_and_migrations_do_not_drift():
    assert _drift() == []


def test_database_is_at_the_head_revision():
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    assert set(current) == set(_script().get_heads())


@pytest.mark.usefixtures("users")
def test_downgrade_to_base_and_upgrade_again():
    make_article("Survives nothing, but the schema comes back")
    db.session.commit()
    db.session.remove()
    try:
        downgrade(revision="base")
        db.session.remove()
        left = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
    finally:
        upgrade()
        db.session.remove()
    assert _drift() == []
    assert "articles" in sa.inspect(db.engine).get_table_names()


@pytest.mark.usefixtures("users")
def test_articles_indexed_before_the_excerpts_get_theirs(client):
    """Migration c8e2f4a6b1d3 fills the excerpts of the articles the index already holds:
    their snippets come from it at once, without ``rebuild search``."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the excerpts are PostgreSQL's")
    body = [{"type": "paragraph", "text": "The\n\nlighthouse keeper\tretired today."}]
    make_article("Lighthouse keeper retires", body=body)
    db.session.commit()
    db.session.remove()
    try:
        downgrade(revision="b5c1d3e7f9a2")
        db.session.remove()
        assert "article_search_excerpts" not in sa.inspect(db.engine).get_table_names()
    finally:
        upgrade()
        db.session.remove()
    hit = client.get("/api/v1/search", query_string={"q": "lighthouse"}).get_json()["data"][0]
    assert hit["snippet"] == "The <mark>lighthouse</mark> keeper retired today."
