"""The API's request metrics: counted by route template, served on a port of their own, never
on the API's public port (docs/OPERATIONS.md, Metrics). No SPEC rule covers operations'
metrics; these tests name the issue that moved them (issue 9, item 8)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from api import metrics
from api.main import create_app
from config import PROJECT_ROOT, Settings
from services import auth
from services.users import create_user
from workflows.messages import Role

SECRET = "metrics-test-secret"


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    auth: dict[str, str]


@pytest.fixture
async def served(sqlite_engine: Engine) -> AsyncIterator[Served]:
    """The API over a database only: these routes never reach Temporal."""
    create_user(sqlite_engine, "client-m", Role.CLIENT, "client")
    user = auth.User(id="client-m", username=None, role=Role.CLIENT, display_name="client")
    token, _ = auth.issue_token(sqlite_engine, SECRET, user, timedelta(hours=1))
    app = create_app(Settings(database_url="sqlite://", token_secret=SECRET), engine=sqlite_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield Served(app, http, {"Authorization": f"Bearer {token}"})


@contextmanager
def metrics_port(app: FastAPI) -> Iterator[str]:
    server = metrics.serve(app, "127.0.0.1:0")
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def test_metrics_count_requests_by_route_on_their_own_port(served: Served) -> None:
    # no SPEC rule: issue 9 item 8
    assert (await served.http.get("/orders", headers=served.auth)).status_code == 200
    with metrics_port(served.app) as url:
        text = await asyncio.to_thread(scrape, url)
    assert 'xigua_api_requests_total{method="GET",route="/orders",status="200"}' in text
    assert "xigua_api_request_seconds_bucket" in text


async def test_metrics_count_refusals_under_their_route_template(served: Served) -> None:
    # no SPEC rule: issue 9 item 8
    response = await served.http.get("/orders/no-such-order/timeline", headers=served.auth)
    assert response.status_code == 404
    with metrics_port(served.app) as url:
        text = await asyncio.to_thread(scrape, url)
    route = 'route="/orders/{order_id}/timeline",status="404"'
    assert f'xigua_api_requests_total{{method="GET",{route}}} 1.0' in text


async def test_the_public_port_does_not_serve_metrics(served: Served) -> None:
    # no SPEC rule: issue 9 item 8
    for headers in ({}, served.auth):
        response = await served.http.get("/metrics", headers=headers)
        assert response.status_code == 404
        assert "xigua_api_requests" not in response.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_python_m_api_serves_metrics_on_the_metrics_address_only(tmp_path: Path) -> None:
    # no SPEC rule: issue 9 item 8; the process `make run` and docker-compose.yml start
    api_port, metrics_port_ = _free_port(), _free_port()
    env = {
        **os.environ,
        "XIGUA_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "XIGUA_API_HOST": "127.0.0.1",
        "XIGUA_API_PORT": str(api_port),
        "XIGUA_API_METRICS_ADDRESS": f"127.0.0.1:{metrics_port_}",
    }
    api = f"http://127.0.0.1:{api_port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "api"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{api}/health")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, "the API exited"
            assert time.monotonic() < deadline, "the API never answered"
            time.sleep(0.2)
        status, _ = _get(f"{api}/metrics")
        assert status == 404
        status, text = _get(f"http://127.0.0.1:{metrics_port_}/metrics")
        assert status == 200
        assert 'xigua_api_requests_total{method="GET",route="/health",status="200"}' in text
    finally:
        process.terminate()
        process.wait(timeout=30)
