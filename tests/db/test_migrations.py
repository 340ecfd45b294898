"""The schema comes from the migrations, and the migrations match the code's tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from adapters.video_platform import (
    AccountNotFound,
    AccountOwner,
    LoginPlatform,
    SimulatedVideoPlatform,
)
from db.migrate import alembic_config
from db.schema import metadata, users


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


def _add_user(engine: Engine, user_id: str, username: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            users.insert().values(
                id=user_id,
                role="client",
                display_name=user_id,
                created_at=datetime.now(UTC),
                username=username,
            )
        )


def test_the_upgrade_folds_stored_usernames_and_stops_at_a_clash(engine: Engine) -> None:
    # rule A1: names stored before folding still log in, in any case
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "0004_video_links")
    _add_user(engine, "u1", "Alice.Wong")
    _add_user(engine, "u2", "bob")
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        names = {r.id: r.username for r in conn.execute(select(users.c.id, users.c.username))}
    assert names == {"u1": "alice.wong", "u2": "bob"}

    command.downgrade(cfg, "0004_video_links")
    _add_user(engine, "u3", "BOB")
    with pytest.raises(RuntimeError, match="differ only in case or width: BOB, bob"):
        command.upgrade(cfg, "head")


def test_the_upgrade_gives_bound_simulated_accounts_their_creators_login(engine: Engine) -> None:
    # rule C1
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "0004_video_links")
    _add_user(engine, "c-1", "chef")
    metrics = {"fans_toutiao": 1, "fans_xigua": 1, "unhealthy": False, "original": True}
    with engine.begin() as conn:
        for account in ("xg-bound", "xg-free"):
            conn.execute(
                text(
                    "INSERT INTO platform_accounts (xigua_account_id, fans_toutiao, fans_xigua,"
                    " unhealthy, original, recent_plays) VALUES (:id, :fans_toutiao,"
                    " :fans_xigua, :unhealthy, :original, '[]')"
                ),
                {"id": account, **metrics},
            )
        conn.execute(
            text(
                "INSERT INTO creators (user_id, accepting_orders, login_platform, login_account,"
                " xigua_account_id, fans, avg_plays, credit_score, orderable)"
                " VALUES ('c-1', false, 'huoshan', 'hs-1', 'xg-bound', 0, 0, 100, false)"
            )
        )
    command.upgrade(cfg, "head")
    platform = SimulatedVideoPlatform(engine)
    assert platform.account_owner("xg-bound") == AccountOwner(
        login_platform=LoginPlatform.HUOSHAN, login_account="hs-1"
    )
    with pytest.raises(AccountNotFound):  # nobody's until the simulator gives it an owner
        platform.account_owner("xg-free")
