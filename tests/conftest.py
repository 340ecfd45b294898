"""Shared fixtures: real databases (SQLite, PostgreSQL) and real Temporal servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bootstrap import register_search_attributes
from db.engine import make_engine
from db.ledger import check_invariants
from db.migrate import upgrade
from temporal_bins import temporal_cli, temporal_test_server
from workflows.common import (
    CLIENT_ID,
    CREATOR_ID,
    DISPUTED,
    ESCALATED,
    NEXT_DEADLINE,
    ORDER_STATUS,
)

POSTGRES_ADMIN_URL = os.environ.get(
    "XIGUA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _migrated_engine(url: str) -> Engine:
    upgrade(url)
    return make_engine(url)


def _assert_books_sound(engine: Engine) -> None:
    problems = check_invariants(engine)
    assert problems == [], "ledger invariants broken:\n" + "\n".join(problems)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = _migrated_engine(f"sqlite:///{tmp_path / 'app.db'}")
    yield engine
    _assert_books_sound(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    available = _postgres_available()
    if not available and os.environ.get("CI") == "true":
        pytest.fail(f"CI needs PostgreSQL at {POSTGRES_ADMIN_URL}")
    return available


@pytest.fixture
def postgres_engine(postgres_available: bool) -> Iterator[Engine]:
    if not postgres_available:
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}")
    name = f"xigua_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    engine = _migrated_engine(f"{base}/{name}")
    yield engine
    _assert_books_sound(engine)
    engine.dispose()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A fresh, migrated app database of each kind; the ledger is checked after the test."""
    fixture = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=temporal_test_server(),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=temporal_cli(),
        search_attributes=[ORDER_STATUS, CLIENT_ID, CREATOR_ID, NEXT_DEADLINE, ESCALATED, DISPUTED],
        dev_server_extra_args=[
            "--dynamic-config-value",
            "system.forceSearchAttributesCacheRefreshOnRead=true",
        ],
    )
    yield env
    await env.shutdown()
