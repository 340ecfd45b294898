from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.stack import Stack, running_stack


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    """A worker on the time-skipping server, over a fresh SQLite app database."""
    async with running_stack(time_skipping_env.client, sqlite_engine) as s:
        yield s
