"""The system scales by adding processes: two workers and two API processes (`python worker.py`,
`python -m api`) against one dev server, PostgreSQL as the app database. Orders are driven
through both APIs at once; mid-run one worker and one API are killed with SIGKILL, and the
clients retry on the surviving API with the same Idempotency-Key. Every order must finish,
its money moved exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from temporalio.api.history.v1 import HistoryEvent
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from adapters.payments import SimulatedPaymentRails
from db import ledger
from db.schema import orders
from services.auth import set_password
from services.orders import OrderPolicy, workflow_id
from services.wallets import top_up
from tests.chaos.support import (
    Child,
    Children,
    assert_books_sound,
    free_port,
    transfer_kinds,
    until,
)
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, PRICE, REVIEWER, seed_parties
from workflows.messages import Actor, OrderStatus, Timings
from workflows.order import OrderWorkflow

pytestmark = [pytest.mark.chaos, pytest.mark.postgres]
S = OrderStatus
ORDERS = 50
# Answers before the kill: about a third of the run's 225 requests, so that orders are in
# every phase when the processes die.
KILL_AFTER = 75
PASSWORD = "correct horse battery"
BOUND_S = 120  # a generous bound on any one wait; the outcome does not depend on it
FEE = OrderPolicy(500, Timings()).fee_for(PRICE)  # the default XIGUA_SERVICE_FEE_BPS


class Ending(Enum):
    DECLINED = "the creator declines"
    CANCELLED = "the client cancels before acceptance"
    DELIVERED = "accepted, video, published, accepted by the client; retention runs out"


@dataclass(frozen=True)
class Step:
    route: str  # the path after /orders/{id}/
    actor: Actor
    body: dict[str, Any] | None
    status: OrderStatus  # the order's status after it
    # Where a retry may find the order when the first attempt was applied and the order has
    # ended since (a retried update on an ended workflow answers 409).
    ended: tuple[OrderStatus, ...] = ()


def steps(ending: Ending, order_id: str) -> list[Step]:
    if ending is Ending.DECLINED:
        return [Step("decline", CREATOR, {"reason": "fully booked"}, S.CANCELLED, (S.CANCELLED,))]
    if ending is Ending.CANCELLED:
        return [Step("cancel", CLIENT, {"reason": "changed plans"}, S.CANCELLED, (S.CANCELLED,))]
    return [
        Step("accept", CREATOR, None, S.VIDEO_PENDING),
        Step("video", CREATOR, {"video_id": f"v-{order_id}"}, S.VIDEO_IN_REVIEW),
        Step("video/review", REVIEWER, {"approve": True}, S.VIDEO_AWAITING_CLIENT),
        Step("video/confirm", CLIENT, None, S.AWAITING_PUBLISH),
        Step("publish", CLIENT, None, S.PUBLISHED),
        Step("accept-delivery", CLIENT, None, S.IN_RETENTION, (S.IN_RETENTION, S.COMPLETED)),
    ]


ENDINGS = [Ending.DECLINED, Ending.CANCELLED, Ending.DELIVERED, Ending.DELIVERED]
REQUESTS = sum(1 + len(steps(ENDINGS[i % len(ENDINGS)], "")) for i in range(ORDERS))


@dataclass
class Replicas:
    """The clients' side: each order has a home API; a request that finds no API (connection
    refused or cut) or a 5xx is sent again, with the same Idempotency-Key, to the next one."""

    http: httpx.AsyncClient
    urls: list[str]
    tokens: dict[str, str] = field(default_factory=dict)
    placed: list[str] = field(default_factory=list)
    answered: int = 0
    served: Counter[str] = field(default_factory=Counter)  # answers, by API, before/after
    retries: Counter[str] = field(default_factory=Counter)  # why a request was sent again
    ended_on_retry: int = 0  # 409s of retries whose first attempt had ended the order
    killed_at: float | None = None
    reached_kill_point: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(
        self, home: int, actor: Actor, path: str, body: dict[str, Any] | None, key: str
    ) -> tuple[httpx.Response, int]:
        """The first answer below 500, and how many attempts came before it."""
        headers = {"Authorization": f"Bearer {self.tokens[actor.id]}", "Idempotency-Key": key}
        deadline = time.monotonic() + BOUND_S
        attempt = 0
        while True:
            index = (home + attempt) % len(self.urls)
            try:
                response = await self.http.post(self.urls[index] + path, json=body, headers=headers)
            except httpx.TransportError as e:
                why = type(e).__name__
            else:
                if response.status_code < 500:
                    self._count(index)
                    return response, attempt
                why = f"HTTP {response.status_code}"
            self.retries[why] += 1
            attempt += 1
            assert time.monotonic() < deadline, f"POST {path}: no answer in {BOUND_S} s ({why})"
            await asyncio.sleep(min(1.0, 0.1 * attempt))

    def _count(self, index: int) -> None:
        self.answered += 1
        self.served[f"api-{index + 1} {'after' if self.killed_at else 'before'}"] += 1
        if self.answered == KILL_AFTER:
            self.reached_kill_point.set()


def lost_tasks(events: list[HistoryEvent]) -> Counter[str]:
    """Work the killed worker had taken and never finished, as the order's history shows it:
    workflow tasks that timed out, activities that ran again after a lost attempt."""
    lost: Counter[str] = Counter()
    for event in events:
        if event.HasField("workflow_task_timed_out_event_attributes"):
            lost["workflow tasks timed out"] += 1
        if (
            event.HasField("activity_task_started_event_attributes")
            and event.activity_task_started_event_attributes.attempt > 1
        ):
            lost["activity attempts retried"] += 1
    return lost


def status_of(engine: Engine, order_id: str) -> OrderStatus:
    with engine.connect() as conn:
        status = conn.execute(select(orders.c.status).where(orders.c.id == order_id)).scalar_one()
    return OrderStatus(status)


async def drive(replicas: Replicas, engine: Engine, run: str, i: int) -> tuple[str, Ending]:
    """One order from placing to its last action, all through its home API while it lives."""
    home, ending, key = i % 2, ENDINGS[i % len(ENDINGS)], f"{run}-{i}"
    brief = {
        "creator_id": CREATOR.id,
        "product": "Pearl River soy sauce",
        "requirements": "Cook one dish with it",
        "skip_script": True,
    }
    placed, _ = await replicas.post(home, CLIENT, "/orders", brief, f"{key}-place")
    assert placed.status_code == 201, placed.text
    order_id = str(placed.json()["id"])
    replicas.placed.append(order_id)
    for step in steps(ending, order_id):
        path = f"/orders/{order_id}/{step.route}"
        response, retried = await replicas.post(
            home, step.actor, path, step.body, f"{key}-{step.route}"
        )
        if response.status_code == 409 and retried and status_of(engine, order_id) in step.ended:
            replicas.ended_on_retry += 1
            continue
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        assert response.json()["status"] == step.status, f"{path}: {response.text}"
    return order_id, ending


async def start_replicas(
    children: Children, env: dict[str, str]
) -> tuple[list[Child], list[Child], list[str]]:
    workers = [await children.start_python(f"worker-{n}", ["worker.py"], env) for n in (1, 2)]
    ports = [free_port(), free_port()]
    apis = [
        await children.start_python(
            f"api-{n}",
            ["-m", "api"],
            {**env, "XIGUA_API_HOST": "127.0.0.1", "XIGUA_API_PORT": str(port)},
        )
        for n, port in zip((1, 2), ports, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    everything = workers + apis

    def polling(worker: Child) -> Callable[[], bool]:
        return lambda: "polling task queue" in worker.log_text()

    for worker in workers:
        await until(polling(worker), everything, f"{worker.name} polls its task queue")

    async def healthy(url: str) -> bool:
        with contextlib.suppress(httpx.TransportError):
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(f"{url}/health")).status_code == 200
        return False

    for url in urls:
        await until(functools.partial(healthy, url), everything, f"{url} answers /health")
    return workers, apis, urls


async def test_two_workers_and_two_apis_lose_one_of_each_and_every_order_finishes(
    dev_server_env: WorkflowEnvironment, postgres_engine: Engine, children: Children
) -> None:
    # rules A2 A3 O2 O8 O12: replicas share the work; losing one of each loses no order
    engine, client = postgres_engine, dev_server_env.client
    seed_parties(engine)
    extra = ORDERS * (PRICE + FEE) - CLIENT_FUNDS
    top_up(engine, SimulatedPaymentRails(engine), CLIENT.id, extra, "replicas")
    for actor in (CLIENT, CREATOR, REVIEWER):
        set_password(engine, actor.id, actor.id, PASSWORD)
    run = uuid.uuid4().hex[:8]
    env = {
        "XIGUA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "XIGUA_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "XIGUA_TEMPORAL_NAMESPACE": client.namespace,
        "XIGUA_TASK_QUEUE": f"replicas-{run}",
        # 30 retention days of 0.1 s: a delivered order completes 3 s after its acceptance.
        "XIGUA_RETENTION_DAY": "PT0.1S",
    }
    begun = time.monotonic()
    workers, apis, urls = await start_replicas(children, env)
    started_s = time.monotonic() - begun
    replicas: Replicas | None = None
    try:
        limits = httpx.Limits(max_connections=2 * ORDERS)
        timeout = httpx.Timeout(60, connect=5)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as http:
            replicas = Replicas(http, urls)
            for actor in (CLIENT, CREATOR, REVIEWER):
                login = await http.post(
                    f"{urls[0]}/auth/token", data={"username": actor.id, "password": PASSWORD}
                )
                assert login.status_code == 200, login.text
                replicas.tokens[actor.id] = login.json()["access_token"]

            async def kill_one_of_each() -> None:
                await replicas.reached_kill_point.wait()
                await children.kill(workers[0])
                await children.kill(apis[0])
                replicas.killed_at = time.monotonic()

            killer = asyncio.create_task(kill_one_of_each())
            driven_at = time.monotonic()
            driven = await asyncio.wait_for(
                asyncio.gather(*(drive(replicas, engine, run, i) for i in range(ORDERS))),
                BOUND_S,
            )
            drove_s = time.monotonic() - driven_at
            assert killer.done(), "the kill point was never reached"
            assert replicas.killed_at is not None
            killed_at = replicas.killed_at

        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(oid)).result()
                    for oid, _ in driven
                )
            ),
            BOUND_S,
        )
        finished_s = time.monotonic() - killed_at
        lost: Counter[str] = Counter()
        for order_id, _ in driven:
            history = await client.get_workflow_handle(workflow_id(order_id)).fetch_history()
            lost += lost_tasks(list(history.events))
        assert [w.running for w in workers] == [False, True]
        assert [a.running for a in apis] == [False, True]

        paid = 0
        for (order_id, ending), result in zip(driven, results, strict=True):
            if ending is Ending.DELIVERED:
                paid += 1
                assert result.status is S.COMPLETED, order_id
                assert transfer_kinds(engine, order_id) == {"freeze": 1, "release": 1}, order_id
            else:
                assert result.status is S.CANCELLED, order_id
                assert transfer_kinds(engine, order_id) == {"freeze": 1, "refund": 1}, order_id
            assert ledger.balance(engine, ledger.escrow_account(order_id)) == 0, order_id
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == ORDERS
        assert ledger.balance(engine, ledger.creator_account(CREATOR.id)) == paid * PRICE
        assert ledger.balance(engine, ledger.PLATFORM_FEES) == paid * FEE
        assert ledger.balance(engine, ledger.client_account(CLIENT.id)) == (
            (ORDERS - paid) * (PRICE + FEE)
        )
        assert_books_sound(engine)
        assert replicas.answered >= REQUESTS  # a few retries are answered twice (409)
        assert replicas.served["api-1 before"] > 0
        assert replicas.served["api-2 before"] > 0
        assert replicas.served["api-2 after"] > 0
        assert sum(replicas.retries.values()) > 0  # the killed API's orders moved over
        print(
            f"\nreplicas: {ORDERS} orders ({paid} paid, {ORDERS - paid} refunded), "
            f"{replicas.answered} answers ({dict(sorted(replicas.served.items()))}); "
            f"worker-1 and api-1 SIGKILLed after {KILL_AFTER} answers, "
            f"{killed_at - driven_at:.1f} s into the run; retries: {dict(replicas.retries)}; "
            f"409 on a retry after the order had ended: {replicas.ended_on_retry}; "
            f"in the histories: {dict(lost) or 'nothing lost'}; "
            f"drove in {drove_s:.1f} s, every workflow closed {finished_s:.1f} s after the kill; "
            f"processes up in {started_s:.1f} s; test took {time.monotonic() - begun:.1f} s"
        )
    finally:
        for order_id in replicas.placed if replicas else []:
            with contextlib.suppress(RPCError):
                await client.get_workflow_handle(workflow_id(order_id)).terminate("test over")
