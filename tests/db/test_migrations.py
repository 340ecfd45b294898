"""The schema comes from the migrations, and the migrations match the code's tables."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from db.migrate import alembic_config
from db.schema import metadata


def test_migrated_schema_matches_the_tables_the_code_uses(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrations_go_down_and_up_again(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert {"accounts", "transfers", "entries", "orders", "order_timeline"} <= set(
        inspect(engine).get_table_names()
    )
