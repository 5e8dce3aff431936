"""What makes SQLite and PostgreSQL behave alike where it matters: engine settings, upserts."""

import sqlalchemy as sa


def enable_sqlite_foreign_keys(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def upsert(bind, model):
    """``INSERT`` for ``model`` with ``on_conflict_do_update``, in the dialect of ``bind`` (a
    session, connection or engine)."""
    dialect = bind.dialect if hasattr(bind, "dialect") else bind.get_bind().dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def in_values(bind, column, values) -> sa.ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:values)``, one bound array: a list
    of thousands of keys then costs neither a bind parameter per element to compile and send
    nor a new statement to plan for each length (the statement is cached and prepared)."""
    dialect = bind.dialect if hasattr(bind, "dialect") else bind.get_bind().dialect
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def in_param(dialect_name: str, column, name: str) -> sa.ColumnElement[bool]:
    """``column IN (:name)`` for a statement built once and run with many lists: on PostgreSQL
    ``column = ANY(:name)``, one bound array (nothing re-rendered per execution); elsewhere an
    expanding parameter (pass lists of at most 500, SQLite's limit: :func:`in_chunks`)."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(name, type_=ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


def in_chunks(bind, values: list, size: int = 500) -> list[list]:
    """``values`` in pieces for :func:`in_values`: one piece on PostgreSQL (an array has no
    length limit), pieces of ``size`` elsewhere (SQLite's limit on bound parameters)."""
    dialect = bind.dialect if hasattr(bind, "dialect") else bind.get_bind().dialect
    if dialect.name == "postgresql":
        return [values] if values else []
    return [values[i : i + size] for i in range(0, len(values), size)]
