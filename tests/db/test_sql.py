"""The dialect helpers of db/sql.py, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from db.schema import accounts
from db.sql import insert_ignore


def test_insert_ignore_inserts_once_and_refuses_a_misspelled_column(engine: Engine) -> None:
    row = {"id": "client:bob", "kind": "client", "balance": 0, "created_at": datetime.now(UTC)}
    with engine.begin() as conn:
        assert insert_ignore(conn, accounts, row) is True
        assert insert_ignore(conn, accounts, row) is False
        # A key that names no column would be dropped at execution: an error, not lost data.
        with pytest.raises(ValueError, match="accounts has no column balanse"):
            insert_ignore(conn, accounts, {**row, "id": "client:eve", "balanse": 5})
