"""Fixtures of the fault-injection tests: child processes that are always cleaned up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.chaos.support import Children


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos: fault injection (kill -9, server restart, database outage, duplicate requests)",
    )


@pytest.fixture
async def children(tmp_path: Path) -> AsyncIterator[Children]:
    """Start OS processes through this; whatever is still running at the end is stopped,
    politely and then with SIGKILL, whether the test passed or not."""
    registry = Children(tmp_path)
    try:
        yield registry
    finally:
        await registry.stop_all()
