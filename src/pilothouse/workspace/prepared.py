"""Hot-path statements: compiled once per dialect, run straight on the DBAPI cursor.

Every mutation writes an event, an audit entry and their cursors — about ten small
statements — so per-statement overhead decides how many operations a second the
store can take. Through :meth:`sqlalchemy.Connection.execute` each one costs ~60 µs
of Python (cache lookup, parameter processing, result set-up, event dispatch)
around a ~7 µs SQLite call. A :class:`Prepared` statement keeps the portable
SQLAlchemy Core definition (the same statement still compiles for SQLite and
PostgreSQL) but does the compilation once per dialect and then only:

* applies each bind parameter's and result column's type processors (found with
  the public ``TypeEngine.dialect_impl(...).bind_processor``/``result_processor``),
* executes the compiled string on the connection's DBAPI cursor, inside the
  transaction the ``Connection`` already began, and
* wraps driver errors in SQLAlchemy's exceptions, like ``Connection.execute`` does.

It is meant for plain statements: no expanding ``IN`` parameters, no Python-side
column defaults (callers pass every value), and — for ``INSERT`` — the columns are
those of the parameters given. Anything else is refused when the statement is first
compiled, so a mistake fails loudly in tests rather than silently differently.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


_GIVEN: Any = object()  # marks a parameter the caller supplies at execution


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    # (name, type processor, value baked into the statement or _GIVEN)
    binds: tuple[tuple[str, Processor, Any], ...]
    results: tuple[Processor, ...]
    row: Any  # a namedtuple class named after the statement's columns


class Prepared:
    """A Core statement with its per-dialect compilation cached."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        insert = isinstance(self.statement, Insert)
        key = (dialect.name, tuple(params) if insert else ())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._compile(dialect, list(params) if insert else None)
        return plan

    def _compile(self, dialect: Dialect, column_keys: list[str] | None) -> _Plan:
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=column_keys)
        if (
            compiled.literal_execute_params
            or compiled.post_compile_params
            or compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.escaped_bind_names
        ):
            raise ValueError(f"not a plain statement, cannot be prepared: {compiled.string}")
        positional = bool(dialect.positional)
        binds = []
        for name in compiled.positiontup if positional else compiled.binds:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if bind.required or name in (column_keys or ()):
                binds.append((name, process, _GIVEN))  # a bindparam("...") or an insert column
            else:  # a literal of the statement, e.g. the 1 in ``seq + 1``
                value = bind.effective_value
                binds.append((name, None, value if process is None else process(value)))
        columns = list(getattr(self.statement, "exported_columns", ()))
        results = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        )
        fields = [c.key for c in columns] or ["result"]
        return _Plan(
            compiled.string,
            positional,
            tuple(binds),
            results,
            namedtuple("Row", fields, rename=True),
        )

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Run with ``params``; returns the rows (named tuples) it produced, if any."""
        given = params or {}
        dialect = conn.dialect
        plan = self._plan(dialect, given)
        values: Sequence[Any] | dict[str, Any]
        try:
            ordered = [
                (n, v if v is not _GIVEN else given[n] if p is None else p(given[n]))
                for n, p, v in plan.binds
            ]
        except KeyError as missing:
            raise ValueError(f"missing parameter {missing} for {plan.sql}") from None
        values = [v for _, v in ordered] if plan.positional else dict(ordered)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(plan.sql, values)
            if cursor.description is None:
                return []
            raw = cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            raise exc.DBAPIError.instance(
                plan.sql, values, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        finally:
            cursor.close()
        make = plan.row._make
        procs = plan.results
        if not any(procs):
            return [make(r) for r in raw]
        return [make(v if p is None else p(v) for v, p in zip(r, procs, strict=True)) for r in raw]

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first row, or ``None``."""
        rows = self.execute(conn, params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the one row the statement must return."""
        rows = self.execute(conn, params)
        if len(rows) != 1:
            raise exc.NoResultFound(f"expected one row, got {len(rows)}")
        return rows[0][0]
