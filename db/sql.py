"""SQL helpers that differ by dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Executable, Table, literal_column
from sqlalchemy.dialects import postgresql, sqlite

# Per dialect and table: the statement, and the table's column names.
_insert_ignore: dict[tuple[str, Table], tuple[Executable, frozenset[str]]] = {}


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if the row was inserted."""
    key = (conn.dialect.name, table)
    if key not in _insert_ignore:
        # Built once per table, the values bound at execution: building the statement and its
        # cache key again on every call cost more than running it (the projection writes one
        # to three rows on every transition of every order).
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        # RETURNING, not rowcount: drivers disagree on the rowcount of a skipped insert.
        statement = dialect.insert(table).on_conflict_do_nothing().returning(literal_column("1"))
        _insert_ignore[key] = (statement, frozenset(table.c.keys()))
    statement, columns = _insert_ignore[key]
    unknown = values.keys() - columns
    if unknown:
        # Parameters that name no column are ignored at execution: say so, never lose data.
        raise ValueError(f"{table.name} has no column {', '.join(sorted(unknown))}")
    return conn.execute(statement, values).first() is not None
