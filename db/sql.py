"""SQL helpers that differ by dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Executable, Table, literal_column
from sqlalchemy.dialects import postgresql, sqlite

_insert_ignore: dict[tuple[str, Table], Executable] = {}


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if the row was inserted."""
    unknown = values.keys() - table.c.keys()
    if unknown:
        # Parameters that name no column are ignored at execution: say so, never lose data.
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    key = (conn.dialect.name, table)
    statement = _insert_ignore.get(key)
    if statement is None:
        # Built once per table, the values bound at execution: building the statement and its
        # cache key again on every call cost more than running it (the projection writes one
        # to three rows on every transition of every order).
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        # RETURNING, not rowcount: drivers disagree on the rowcount of a skipped insert.
        statement = _insert_ignore[key] = (
            dialect.insert(table).on_conflict_do_nothing().returning(literal_column("1"))
        )
    return conn.execute(statement, values).first() is not None
