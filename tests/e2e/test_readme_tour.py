"""The README's curl tour, run as written against a real HTTP server, worker and dev server."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from config import Settings
from scripts.seed import seed_demo
from tests.stack import running_stack, serving_on_loopback

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_script() -> str:
    text = README.read_text()
    match = re.search(r"<!-- tour:start -->\s*```sh\n(.*?)```\s*<!-- tour:end -->", text, re.S)
    assert match, "README.md has no tour block between <!-- tour:start --> and <!-- tour:end -->"
    return match.group(1)


@pytest.fixture
async def api_url(dev_server_env: WorkflowEnvironment, sqlite_engine: Engine) -> AsyncIterator[str]:
    async with running_stack(dev_server_env.client, sqlite_engine) as stack:
        seed_demo(sqlite_engine)
        settings = Settings(task_queue=stack.task_queue, database_url="sqlite://")
        app = create_app(settings, engine=sqlite_engine, temporal=dev_server_env.client)
        async with serving_on_loopback(app) as url:
            yield url


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
async def test_readme_tour_runs_as_written(api_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", tour_script(),
        env={**os.environ, "API": api_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    output = stdout.decode()
    assert process.returncode == 0, f"tour failed:\n{output}\n{stderr.decode()}"
    assert "cannot publish order" in output  # the 409 it shows on purpose
    assert "absolute claim" in output
    assert "全网第一\t第九条第（三）项\tat [17, 21)" in output  # rule B2
    assert '"kind":"new_order"' in output  # the creator's inbox (N1)
    assert "accept_delivery -> in_retention" in output
    assert output.count("\n") > 20
