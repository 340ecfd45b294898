"""The worker is frozen (SIGSTOP, as a stalled or deploying worker looks to the server) while a
client places an order and while a creator accepts one. The API answers 503, saying the request
may still be applied and how to learn its outcome; once the worker runs again, the same request
with the same Idempotency-Key returns the one outcome: one order, one freeze, one acceptance."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.idempotency import REPLAYED_HEADER
from api.main import create_app
from config import Settings
from db.schema import orders
from services.auth import set_password
from services.orders import workflow_id
from tests.chaos.support import (
    Child,
    Children,
    assert_books_sound,
    timeline_actions,
    transfer_kinds,
    wait_for_file,
    worker_env,
)
from tests.stack import CLIENT, CREATOR, seed_parties
from workflows.messages import Actor

pytestmark = pytest.mark.chaos
PASSWORD = "correct horse battery"
# Short, so that a frozen worker costs the test seconds; the API's default is 15 s.
RPC_TIMEOUT = timedelta(seconds=2)
# A resumed worker may first finish the workflow task it took before it froze, or the server
# may hand it out again after the task's 10 s timeout: retries are bounded well past that.
RETRIES = 30


@dataclass
class FrozenWorkerApi:
    http: httpx.AsyncClient
    engine: Engine
    worker: Child
    tokens: dict[str, str]

    async def post(self, actor: Actor, path: str, key: str, json: object = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[actor.id]}", "Idempotency-Key": key}
        return await self.http.post(path, json=json, headers=headers)

    @asynccontextmanager
    async def frozen(self) -> AsyncIterator[None]:
        os.kill(self.worker.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.worker.pid, signal.SIGCONT)

    async def until_answered(
        self, actor: Actor, path: str, key: str, json: object = None
    ) -> httpx.Response:
        """What a client told to retry does: the same request, the same key, until an answer."""
        for _ in range(RETRIES):
            response = await self.post(actor, path, key, json)
            if response.status_code != 503:
                return response
            await asyncio.sleep(0.5)
        raise AssertionError(f"still 503 after {RETRIES} retries: {response.text}")


@pytest.fixture
async def api(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine, children: Children, tmp_path: Path
) -> AsyncIterator[FrozenWorkerApi]:
    """The API in this process (with a short RPC timeout) and the product's worker in its own,
    where a signal can freeze it."""
    client, engine = dev_server_env.client, sqlite_engine
    seed_parties(engine)
    task_queue = f"chaos-stall-{uuid.uuid4().hex[:8]}"
    ready = tmp_path / "worker-ready"
    worker = await children.start_python(
        "worker",
        ["-m", "tests.chaos.worker_process", "--ready", str(ready)],
        worker_env(client, task_queue, engine),
    )
    await wait_for_file(ready, worker, "the worker polls its task queue")
    settings = Settings(
        task_queue=task_queue, database_url="sqlite://", temporal_rpc_timeout=RPC_TIMEOUT
    )
    app = create_app(settings, engine=engine, temporal=client)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            tokens = {}
            for actor in (CLIENT, CREATOR):
                set_password(engine, actor.id, actor.id, PASSWORD)
                response = await http.post(
                    "/auth/token", data={"username": actor.id, "password": PASSWORD}
                )
                tokens[actor.id] = response.json()["access_token"]
            yield FrozenWorkerApi(http, engine, worker, tokens)
    finally:
        await terminate_orders(client, engine)


async def terminate_orders(client: Client, engine: Engine) -> None:
    with engine.connect() as conn:
        placed = list(conn.execute(select(orders.c.id)).scalars())
    for order_id in placed:
        await client.get_workflow_handle(workflow_id(order_id)).terminate("test over")


def order_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(orders)).scalar_one())


def assert_pending(response: httpx.Response, order_id: str | None = None) -> str:
    """A 503 that says the request may still be applied and how to learn its outcome."""
    assert response.status_code == 503, response.text
    assert REPLAYED_HEADER not in response.headers  # a 503 is never the stored answer
    assert int(response.headers["Retry-After"]) > 0
    body = response.json()
    assert order_id in (None, body["order_id"])
    assert response.headers["Location"] == f"/orders/{body['order_id']}"
    assert "it may still be applied" in body["detail"]
    assert "same Idempotency-Key" in body["detail"]
    return str(body["order_id"])


async def test_a_request_to_a_frozen_worker_answers_503_and_its_retry_the_outcome(
    api: FrozenWorkerApi,
) -> None:
    # rules A2 A1: no 500 while no worker answers; the retry with the key gets the one outcome
    started = time.monotonic()
    key = uuid.uuid4().hex
    body = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}

    async with api.frozen():
        waited = time.monotonic()
        first = await api.post(CLIENT, "/orders", f"place-{key}", body)
        waited = time.monotonic() - waited
        order_id = assert_pending(first)
        # Not a stored answer: the same request asks the order service again, and waits again.
        assert_pending(await api.post(CLIENT, "/orders", f"place-{key}", body), order_id)
        assert transfer_kinds(api.engine, order_id) == {}  # nothing runs while it is frozen

    placed = await api.until_answered(CLIENT, "/orders", f"place-{key}", body)
    assert placed.status_code == 201, placed.text
    assert placed.json()["id"] == order_id
    assert placed.json()["status"] == "awaiting_acceptance"
    again = await api.post(CLIENT, "/orders", f"place-{key}", body)
    assert (again.status_code, again.json()) == (201, placed.json())
    assert again.headers[REPLAYED_HEADER] == "true"
    assert order_count(api.engine) == 1
    assert transfer_kinds(api.engine, order_id) == {"freeze": 1}

    accept = f"/orders/{order_id}/accept"
    async with api.frozen():
        assert_pending(await api.post(CREATOR, accept, f"accept-{key}"), order_id)
    accepted = await api.until_answered(CREATOR, accept, f"accept-{key}")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "script_pending"
    assert timeline_actions(api.engine, order_id) == ["place", "accept"]
    assert transfer_kinds(api.engine, order_id) == {"freeze": 1}
    assert_books_sound(api.engine)
    print(
        f"\nstalled worker: placement answered 503 after {waited:.1f} s "
        f"(rpc timeout {RPC_TIMEOUT.total_seconds():.0f} s); 1 order, 1 freeze, 1 acceptance; "
        f"test took {time.monotonic() - started:.1f} s"
    )
