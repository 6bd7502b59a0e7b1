"""Statements of the answer path, compiled once per database and run on the driver's own cursor.

Why: SQLAlchemy's execution path (an execution context, parameter and result
processing, events, a Result) costs about 35 us a statement here; sqlite3 runs
the same statement in a few, and a resident's every answer is five of them
(bench/README.md, fifth round). The statement is still built and compiled by
SQLAlchemy, and its values and results still go through SQLAlchemy's own type
processors, so the SQL and the stored values are the same on SQLite and
PostgreSQL; only the execution machinery is skipped.

What that gives up, and why it is safe for the statements that use it: no
engine events run for them (Chorus listens only to connect and begin, which
happen outside a statement); a column's Python-side default is filled in only
when it is a constant (a statement that needs any other default is refused
when compiled); nothing is logged by SQLAlchemy's echo. A driver's error is
raised as SQLAlchemy's (IntegrityError, OperationalError), as Core would.

Usage:
    LATEST = Prepared(select(t.c.id, t.c.state).where(t.c.key == bindparam("key")))
    row = LATEST.first(session, {"key": key})   # a named tuple, or None
    INSERT.execute_many(session, rows)
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement, ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler

from storage.connection import core_connection

Processor = Callable[[Any], Any] | None


class _Compiled:
    """One statement's SQL for one database and one set of value names, with how to bind and read values."""

    def __init__(self, statement: ClauseElement, dialect: Dialect, names: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        assert isinstance(compiled, SQLCompiler)
        if not compiled.positional:
            raise TypeError(f"{dialect.driver} takes parameters by name; Prepared binds them by position")
        self.sql = compiled.string
        defaults = _constant_defaults(compiled)
        # Each bound parameter in order: the value's name (None for a literal in the statement), the literal, its processor.
        self.slots: list[tuple[str | None, Any, Processor]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in names or bind.required:
                self.slots.append((name, None, processor))
            elif bind.callable is not None:
                raise TypeError(f"the value of {name} is computed when run; pass it in the values instead")
            else:
                self.slots.append((None, defaults.get(name, bind.effective_value), processor))
        columns: Sequence[ColumnElement[Any]] = getattr(statement, "exported_columns", ())  # a SELECT's, or RETURNING's
        self.readers: list[Processor] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.row = namedtuple("Row", [column.key for column in columns], rename=True)  # type: ignore[misc]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(
            (values[name] if name is not None else literal)
            if processor is None
            else processor(values[name] if name is not None else literal)
            for name, literal, processor in self.slots
        )

    def read(self, raw: Sequence[Any]) -> Any:
        return self.row(
            *(value if reader is None else reader(value) for reader, value in zip(self.readers, raw, strict=True))
        )


def _constant_defaults(compiled: SQLCompiler) -> dict[str, Any]:
    """The values of columns the statement leaves to their Python-side defaults; only constants are allowed."""
    defaults: dict[str, Any] = {}
    for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
        default = column.default if column in compiled.insert_prefetch else column.onupdate
        if default is None or not default.is_scalar:
            raise TypeError(
                f"{column} needs its Python-side default computed; give its value in the statement's values"
            )
        defaults[column.key] = default.arg  # type: ignore[attr-defined]
    return defaults


class Prepared:
    """A Core statement run straight on the database driver's cursor, inside the session's transaction."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[tuple[str, ...], _Compiled] = {}

    def execute(self, session: Session, values: Mapping[str, Any]) -> int:
        """Run it once; the number of rows it changed."""
        return self._run(session, values)[1].rowcount  # type: ignore[no-any-return]

    def execute_many(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once for each row of values (each with the same names), through the driver's executemany."""
        if not rows:
            return
        connection = core_connection(session)
        compiled = self._for(connection.dialect, rows[0])
        _run(connection, compiled.sql, [compiled.parameters(row) for row in rows], many=True)

    def first(self, session: Session, values: Mapping[str, Any]) -> Any | None:
        """The first row a SELECT (or an INSERT ... RETURNING) gives, as a named tuple, or None."""
        compiled, cursor = self._run(session, values)
        raw = cursor.fetchone()
        return None if raw is None else compiled.read(raw)

    def all(self, session: Session, values: Mapping[str, Any]) -> list[Any]:
        """Every row a SELECT gives, as named tuples."""
        compiled, cursor = self._run(session, values)
        return [compiled.read(raw) for raw in cursor.fetchall()]

    def _run(self, session: Session, values: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        connection = core_connection(session)
        compiled = self._for(connection.dialect, values)
        return compiled, _run(connection, compiled.sql, compiled.parameters(values))

    def _for(self, dialect: Dialect, values: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, *values)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _Compiled(self._statement, dialect, list(values))
        return compiled


def _run(connection: Connection, sql: str, parameters: Any, *, many: bool = False) -> Any:
    """The driver's cursor after running `sql`; a driver's error comes out as SQLAlchemy's own."""
    cursor = connection.connection.cursor()
    dbapi = connection.dialect.loaded_dbapi
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except dbapi.Error as error:
        raise DBAPIError.instance(
            sql,
            parameters,
            error,
            dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,
            dialect=connection.dialect,
        ) from error
    return cursor
