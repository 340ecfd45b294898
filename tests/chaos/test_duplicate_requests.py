"""Many identical requests with one Idempotency-Key, all at once, over real HTTP (uvicorn):
one effect, and every caller gets the same answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from temporalio.testing import WorkflowEnvironment

from api.idempotency import REPLAYED_HEADER
from api.main import create_app
from config import Settings
from db import ledger
from db.schema import orders, transfers
from services.auth import set_password
from tests.chaos.support import advance, assert_books_sound, timeline_actions, transfer_kinds
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, PRICE, Stack, running_stack
from workflows.messages import Actor, OrderStatus

pytestmark = pytest.mark.chaos
S = OrderStatus
PASSWORD = "correct horse battery"
CALLERS = 20
BOUND_S = 90  # a generous bound on any one wait; the outcome does not depend on it


@dataclass
class HttpApi:
    url: str
    http: httpx.AsyncClient
    stack: Stack
    tokens: dict[str, str]

    def headers(self, actor: Actor, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor.id]}", "Idempotency-Key": key}

    async def storm(
        self, actor: Actor, path: str, key: str, json: object = None
    ) -> list[httpx.Response]:
        """CALLERS identical requests, sent concurrently."""
        return list(
            await asyncio.wait_for(
                asyncio.gather(
                    *(
                        self.http.post(
                            f"{self.url}{path}", json=json, headers=self.headers(actor, key)
                        )
                        for _ in range(CALLERS)
                    )
                ),
                BOUND_S,
            )
        )


@pytest.fixture
async def api(dev_server_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[HttpApi]:
    """The API served by uvicorn on a free port, over a worker and the dev server."""
    async with running_stack(dev_server_env.client, engine) as stack:
        settings = Settings(task_queue=stack.task_queue, database_url="sqlite://")
        app = create_app(settings, engine=engine, temporal=dev_server_env.client)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            for _ in range(500):
                if server.started or serving.done():
                    break
                await asyncio.sleep(0.01)
            assert server.started, "uvicorn did not start"
            port = server.servers[0].sockets[0].getsockname()[1]
            url = f"http://127.0.0.1:{port}"
            limits = httpx.Limits(max_connections=CALLERS * 2)
            async with httpx.AsyncClient(timeout=BOUND_S, limits=limits) as http:
                tokens = {}
                for actor in (CLIENT, CREATOR):
                    set_password(engine, actor.id, actor.id, PASSWORD)
                    response = await http.post(
                        f"{url}/auth/token", data={"username": actor.id, "password": PASSWORD}
                    )
                    assert response.status_code == 200, response.text
                    tokens[actor.id] = response.json()["access_token"]
                yield HttpApi(url, http, stack, tokens)
        finally:
            server.should_exit = True
            await serving


def one_answer(responses: list[httpx.Response], status: int) -> dict[str, object]:
    """Every caller got the same status and the same body; that body."""
    assert [r.status_code for r in responses] == [status] * len(responses), [
        r.text for r in responses
    ]
    bodies = [r.json() for r in responses]
    assert all(body == bodies[0] for body in bodies)
    first: dict[str, object] = bodies[0]
    return first


def replayed(responses: list[httpx.Response]) -> int:
    return sum(1 for r in responses if r.headers.get(REPLAYED_HEADER) == "true")


def count(engine: Engine, table: str) -> int:
    chosen = {"orders": orders, "transfers": transfers}[table]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(chosen)).scalar_one())


async def test_concurrent_duplicate_requests_have_one_effect(api: HttpApi) -> None:
    # rules A2 A3: one Idempotency-Key, one effect, one answer
    engine, stack = api.stack.engine, api.stack
    started = time.monotonic()
    transfers_before = count(engine, "transfers")  # the seeded top-up
    body = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}
    # Keys of this run's own: the order id derives from (user, key), and the dev server is
    # shared by the whole session.
    key = uuid.uuid4().hex

    placed = await api.storm(CLIENT, "/orders", f"place-{key}", body)
    order = one_answer(placed, 201)
    order_id = str(order["id"])
    stack.placed.append(order_id)
    assert order["status"] == "awaiting_acceptance"
    assert count(engine, "orders") == 1
    assert transfer_kinds(engine, order_id) == {"freeze": 1}
    total = PRICE + stack.fee
    assert ledger.balance(engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS - total
    # The key with another body is refused and changes nothing.
    other = await api.http.post(
        f"{api.url}/orders",
        json={**body, "product": "Coffee"},
        headers=api.headers(CLIENT, f"place-{key}"),
    )
    assert other.status_code == 422

    accepted = await api.storm(CREATOR, f"/orders/{order_id}/accept", f"accept-{key}")
    assert one_answer(accepted, 200)["status"] == "script_pending"
    assert timeline_actions(engine, order_id) == ["place", "accept"]

    await asyncio.wait_for(advance(stack, order_id, S.PUBLISHED), BOUND_S)
    settled = await api.storm(CLIENT, f"/orders/{order_id}/accept-delivery", f"settle-{key}")
    assert one_answer(settled, 200)["status"] == "in_retention"
    assert timeline_actions(engine, order_id)[-2:] == ["publish", "accept_delivery"]
    assert timeline_actions(engine, order_id).count("accept_delivery") == 1
    assert transfer_kinds(engine, order_id) == {"freeze": 1, "release": 1}
    assert count(engine, "transfers") == transfers_before + 2
    assert ledger.balances(
        engine,
        [
            ledger.client_account(CLIENT.id),
            ledger.escrow_account(order_id),
            ledger.creator_account(CREATOR.id),
            ledger.PLATFORM_FEES,
        ],
    ) == {
        ledger.client_account(CLIENT.id): CLIENT_FUNDS - total,
        ledger.escrow_account(order_id): 0,
        ledger.creator_account(CREATOR.id): PRICE,
        ledger.PLATFORM_FEES: stack.fee,
    }
    assert_books_sound(engine)
    print(
        f"\nduplicate requests ({engine.dialect.name}): 3 x {CALLERS} concurrent requests, "
        f"replayed from the stored answer: place {replayed(placed)}, accept {replayed(accepted)}, "
        f"accept-delivery {replayed(settled)}; 1 order, 2 transfers; "
        f"test took {time.monotonic() - started:.1f} s"
    )
