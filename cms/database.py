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


def insert_rows(connection: sa.Connection, table: sa.Table, rows: list[dict], types=None) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` as ``INSERT`` with many
    parameter sets would: on PostgreSQL by one ``COPY … FROM STDIN`` (one message per row, no
    statement run per row: the writer and the server spend a fraction of what an
    ``executemany`` costs them per row), elsewhere by that ``INSERT``.

    Values go through their column's bind processing as in an ``INSERT`` (``types``: a type
    by column name instead of the column's, as a ``bindparam`` would give it); a column the rows
    leave out gets its Python-side default, evaluated per row, or else the server's.
    ``table`` must have no ``INSERT`` trigger that behaves differently under ``COPY``."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name != "postgresql":
        statement = sa.insert(table)
        if types:
            statement = statement.values(
                {name: sa.bindparam(name, type_=type_) for name, type_ in types.items()}
            )
        connection.execute(statement, rows)
        return
    names = list(rows[0])
    given = set(names)
    defaults = [
        (column.name, column.default)
        for column in table.columns
        if column.name not in given and column.default is not None
    ]
    for name, default in defaults:
        if not (default.is_scalar or default.is_callable):
            raise ValueError(f"{table.name}.{name}: a default COPY cannot give")
    processors = []
    for name in [*names, *(name for name, _ in defaults)]:
        type_ = (types or {}).get(name, table.c[name].type)
        processors.append(type_.dialect_impl(dialect).bind_processor(dialect))
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in [*names, *(name for name, _ in defaults)])
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [row[name] for name in names]
                values += [
                    default.arg if default.is_scalar else default.arg(None)
                    for _, default in defaults
                ]
                copy.write_row(
                    [
                        value if process is None else process(value)
                        for process, value in zip(processors, values, strict=True)
                    ]
                )
    finally:
        cursor.close()
