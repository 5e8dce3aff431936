"""The public reads' statements on a DB-API connection of the pool, compiled once.

SQLAlchemy's execution of a Core statement (execution context, parameter and result
processing, the session's connection around it) costs more CPU than the statement's round trip
on the driver's cursor: about half of the ~500 µs the list's read cost in process on
PostgreSQL (bench/README.md, round 6). The plain reads answered before Flask
(``cms.api.public.fast``) therefore borrow a pooled connection for the request
(:func:`borrowed_connection`), and ``reading.read_rows``
runs each statement the services built on it as SQLAlchemy would: the same SQL, compiled once
per statement and dialect by SQLAlchemy, with the same bind and result processors of the
columns' types. Nothing is hand-written and nothing is remembered but the compiled form: every
execution reads the database.

Only statements without parameters rendered at execution time (an expanding ``IN``) are run
this way; ``read_rows`` runs the others on the session as before.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa

_BORROWED: ContextVar[_Borrowed | None] = ContextVar("cms_public_borrowed", default=None)
# Where a pooled connection keeps its cursor (``_kept_cursor``), in the pool's ``info`` of it.
_KEPT_CURSOR = "cms_kept_cursor"


@contextmanager
def borrowed_connection(engine: sa.Engine):
    """Within the block, ``reading.read_rows`` runs on a pooled connection of ``engine`` in
    autocommit (each statement sees what is committed, as in ``reading.without_transaction``),
    checked out at the first statement and given back at the end."""
    borrowed = _Borrowed(engine)
    token = _BORROWED.set(borrowed)
    try:
        yield
    finally:
        _BORROWED.reset(token)
        borrowed.give_back()


def borrowed() -> _Borrowed | None:
    """The connection lent to the current block, if any."""
    return _BORROWED.get()


class _Borrowed:
    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._connection = None  # the pool's proxy of the DB-API connection

    def rows(
        self,
        statement: sa.Executable,
        params: dict | None,
        *,
        scalars: bool = False,
        prepare: bool | None = None,
        binary: bool = False,
        named: bool = True,
    ) -> list | None:
        """The rows of ``statement``, or ``None`` when it cannot be run compiled once;
        ``scalars``, ``prepare``, ``binary`` and ``named`` as :func:`rows_on` takes them."""
        dialect = self.engine.dialect
        compiled = _compile(statement, dialect)
        if compiled is None:
            return None
        if self._connection is None:
            connection = self.engine.raw_connection()
            _autocommit(dialect, connection.dbapi_connection, True)
            self._connection = connection
        cursor = _kept_cursor(self._connection)
        try:
            return compiled.run(
                cursor, params, scalars=scalars, prepare=prepare, binary=binary, named=named
            )
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, self._connection.dbapi_connection, cursor):
                # As SQLAlchemy's Connection does on a disconnect: this connection and every
                # other one the pool holds from before (a database restart cut them all) are
                # replaced, so that only this request fails (Flask answers it the 503).
                self.engine.pool._invalidate(self._connection, error)
                self._connection = None
            raise

    def give_back(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            _autocommit(self.engine.dialect, connection.dbapi_connection, False)
        except Exception as error:
            connection.invalidate(error)
        connection.close()


def _autocommit(dialect, dbapi_connection, on: bool) -> None:
    """Turn autocommit on (or back off) on a connection the pool lent, outside a transaction.

    psycopg's ``autocommit`` is a flag of the client (no round trip): setting it alone lends
    and gives back the connection as the pool holds it, in two attribute writes, where
    SQLAlchemy's ``set_isolation_level`` and ``reset_isolation_level`` also set psycopg's
    ``isolation_level`` (to the server's default again on giving back), through several layers
    of calls each: ~20 µs of CPU of a plain read in process (bench/README.md, round 8). Other
    drivers (SQLite's) go through SQLAlchemy."""
    if dialect.driver == "psycopg":
        dbapi_connection.autocommit = on
    elif on:
        dialect.set_isolation_level(dbapi_connection, "AUTOCOMMIT")
    else:
        dialect.reset_isolation_level(dbapi_connection)


def rows_on(
    connection: sa.Connection,
    statement: sa.Executable,
    params: dict | None,
    *,
    scalars=False,
    prepare: bool | None = None,
    binary: bool = False,
    named: bool = True,
) -> list:
    """The rows of ``statement`` on the DB-API connection of ``connection`` (a session's, in
    whatever transaction state it is), compiled once as :class:`_Borrowed` runs it; through
    ``connection`` when it cannot be. ``scalars``: the first column's values only.
    ``prepare``: psycopg's (prepared now, never, or after its threshold of runs when
    ``None``). ``binary``: the rows sent in PostgreSQL's binary format (psycopg's), which
    reads a ``bytea`` column as the bytes stored, not their hex text. ``named=False``: rows
    read by position only, as tuples (no named tuple made of each). For statements built once
    (the search's): the cache of compiled statements is small."""
    dialect = connection.dialect
    compiled = _compile(statement, dialect)
    if compiled is None:
        result = connection.execute(statement, params)
        return result.scalars().all() if scalars else result.all()
    cursor = _kept_cursor(connection.connection)
    try:
        return compiled.run(
            cursor, params, scalars=scalars, prepare=prepare, binary=binary, named=named
        )
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, cursor.connection, cursor):
            connection.invalidate(error)  # as SQLAlchemy's execution does on a disconnect
        raise


def _kept_cursor(pooled):
    """The DB-API cursor kept with the pool's connection ``pooled``, made at its first use.

    A new cursor per statement cost ~15 µs of CPU on PostgreSQL (the detail's statement, in
    process): psycopg sets up its adapters for each cursor, and keeps the loaders of a result's
    columns while the cursor runs the same SQL again. The pool empties its ``info`` of the
    connection when it replaces the connection (invalidated, recycled, after ``dispose``);
    like the connection, the cursor is used by one thread at a time. It holds its last result
    until the next statement."""
    cursor = pooled.info.get(_KEPT_CURSOR)
    if (
        cursor is None
        or getattr(cursor, "closed", False)
        or cursor.connection is not pooled.dbapi_connection
    ):
        cursor = pooled.info[_KEPT_CURSOR] = pooled.dbapi_connection.cursor()
    return cursor


class _Compiled:
    """A statement in one dialect: its SQL, how its parameters and rows are processed."""

    def __init__(self, statement, compiled, dialect):
        self.sql = compiled.string
        self._compiled = compiled
        self._dialect = dialect
        self._binds = [
            (compiled.bind_names[bind], processor)
            for bind in compiled.binds.values()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        ]
        self._positions = compiled.positiontup if compiled.positional else None
        self._columns = list(statement.selected_columns)
        self._row = namedtuple("Row", [column.key or "_" for column in self._columns], rename=True)
        self._processors = None  # from the first result's description, as SQLAlchemy does

    def run(
        self, cursor, params: dict | None, *, scalars=False, prepare=None, binary=False, named=True
    ) -> list:
        """Its rows, processed, executed on the DB-API ``cursor`` (``scalars``: the first
        column's values; ``named``: as named tuples, else as the driver's tuples; ``prepare``
        and ``binary``: psycopg's, when given)."""
        options = {} if prepare is None else {"prepare": prepare}
        if binary:
            options["binary"] = True
        cursor.execute(self.sql, self.parameters(params), **options)
        rows = self.rows(cursor.fetchall(), cursor, scalars=scalars, named=named)
        return [row[0] for row in rows] if scalars else rows

    def parameters(self, params: dict | None):
        values = self._compiled.construct_params(params)
        for name, processor in self._binds:
            values[name] = processor(values[name])
        if self._positions is not None:
            return [values[name] for name in self._positions]
        return values

    def rows(self, rows: list, cursor, *, scalars: bool = False, named: bool = True) -> list:
        """The rows processed, as named tuples unless ``named`` is false; ``scalars``: only
        their first values are (the rows as read, not as named tuples)."""
        if self._processors is None:
            dialect, description = self._dialect, cursor.description
            self._processors = [
                (index, processor)
                for index, (column, described) in enumerate(
                    zip(self._columns, description, strict=True)
                )
                if (
                    processor := column.type.dialect_impl(dialect).result_processor(
                        dialect, described[1]
                    )
                )
            ]
        if scalars:
            processor = next((p for index, p in self._processors if index == 0), None)
            if processor is None:
                return rows
            return [(processor(row[0]),) for row in rows]
        make = self._row._make if named else tuple
        if not self._processors:
            return [make(row) for row in rows] if named else rows
        processed = []
        for row in rows:
            values = list(row)
            for index, processor in self._processors:
                values[index] = processor(values[index])
            processed.append(make(values))
        return processed


@functools.lru_cache(maxsize=128)
def _compile(statement: sa.Executable, dialect) -> _Compiled | None:
    """The statement compiled for ``dialect``; ``None`` when part of its SQL is rendered per
    execution (expanding or literal parameters), which only SQLAlchemy's execution does."""
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None
    return _Compiled(statement, compiled, dialect)
