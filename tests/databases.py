"""A throw-away PostgreSQL database, for a test run (``conftest``) or an evaluation
(``eval/harness.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa

from cms.config import sqlalchemy_url


def throwaway_database(server_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database named ``<prefix>_<random>`` on the server of ``server_url``: its
    URL, and a function that drops it (closing what is still connected to it)."""
    url = sa.make_url(sqlalchemy_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop
