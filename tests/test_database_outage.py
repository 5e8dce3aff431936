"""A database that drops its connections (a restart, a failover): the request caught by it gets a
503 problem with Retry-After, and the app reconnects by itself for the next one (PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cms.extensions import db
from tests.conftest import make_article


@pytest.fixture
def postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("drops PostgreSQL connections (set CMS_TEST_DATABASE_URL)")


def _drop_every_connection() -> None:
    admin = sa.create_engine(db.engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()


def test_dropped_connections_cost_one_503_then_the_app_recovers(
    postgres, client, users, app, monkeypatch
):
    monkeypatch.delitem(app.extensions, "cms_response_cache", raising=False)
    make_article("Still here")
    db.session.remove()
    for _ in range(3):
        assert client.get("/api/v1/articles").status_code == 200
    _drop_every_connection()

    statuses = [client.get("/api/v1/articles") for _ in range(3)]

    failed = [r for r in statuses if r.status_code != 200]
    assert len(failed) <= 1
    for response in failed:
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert response.mimetype == "application/problem+json"
    assert statuses[-1].get_json()["data"][0]["title"] == "Still here"
