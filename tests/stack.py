"""A running worker plus the order service on a given Temporal environment, and the parties
every order test needs."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import uvicorn
from sqlalchemy import Engine, select
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from adapters.payments import SimulatedPaymentRails
from adapters.video_platform import SimulatedVideoPlatform
from bootstrap import build_worker, order_service, simulated_adapters, worker_activities
from config import Settings
from db import ledger
from db.schema import orders
from scripts.seed import onboard
from services.orders import OrderService, PlaceOrder, workflow_id
from services.users import create_user
from services.wallets import top_up
from workflows.actions import ACTIONS
from workflows.messages import (
    FINAL_STATUSES,
    Action,
    Actor,
    Brief,
    OrderResult,
    OrderStatus,
    OrderView,
    Role,
    Timings,
)
from workflows.order import OrderWorkflow

_TASK_EVENTS = {
    "workflow_task_scheduled_event_attributes",
    "workflow_task_started_event_attributes",
    "workflow_task_completed_event_attributes",
}
PRICE = 100_000  # 1,000 yuan
DEFAULT_TIMINGS = Timings()
CLIENT = Actor(id="client-1", role=Role.CLIENT)
OTHER_CLIENT = Actor(id="client-2", role=Role.CLIENT)
CREATOR = Actor(id="creator-1", role=Role.CREATOR)
MCN_CREATOR = Actor(id="creator-mcn", role=Role.CREATOR)
MCN = Actor(id="mcn-1", role=Role.MCN)
OTHER_CREATOR = Actor(id="creator-2", role=Role.CREATOR)
REVIEWER = Actor(id="reviewer-1", role=Role.REVIEWER)
CLIENT_FUNDS = 1_000_000
BRIEF = Brief(product="Pearl River soy sauce", requirements="Show the bottle within 10 s")


def seed_parties(engine: Engine) -> None:
    for actor in (CLIENT, OTHER_CLIENT, CREATOR, MCN_CREATOR, MCN, OTHER_CREATOR, REVIEWER):
        create_user(engine, actor.id, actor.role, actor.id)
    platform = SimulatedVideoPlatform(engine)
    onboard(engine, platform, CREATOR.id, PRICE)
    onboard(engine, platform, MCN_CREATOR.id, PRICE, mcn_id=MCN.id)
    onboard(engine, platform, OTHER_CREATOR.id, PRICE, accepting=False)
    top_up(engine, SimulatedPaymentRails(engine), CLIENT.id, CLIENT_FUNDS, "seed-client-1")


def stack_settings(task_queue: str) -> Settings:
    """The settings a test's order service runs on: its own task queue, a 5 % fee, and a bound
    on each Temporal call past pytest's own timeout, so a test waits as long as it needs."""
    return Settings(
        task_queue=task_queue, service_fee_bps=500, temporal_rpc_timeout=timedelta(minutes=10)
    )


@dataclass
class Stack:
    client: Client
    engine: Engine
    platform: SimulatedVideoPlatform
    service: OrderService
    task_queue: str
    timings: Timings
    placed: list[str] = field(default_factory=list)
    _requests: int = field(default=0)

    @property
    def fee(self) -> int:
        return self.service._policy.fee_for(PRICE)

    async def place(self, creator: Actor = CREATOR, **kwargs: Any) -> OrderView:
        kwargs.setdefault("order_id", uuid.uuid4().hex)
        kwargs.setdefault("brief", BRIEF)
        request = PlaceOrder(client_id=CLIENT.id, creator_id=creator.id, **kwargs)
        self.placed.append(kwargs["order_id"])
        return await self.service.place(request)

    async def terminate_open_orders(self) -> None:
        """A workflow left open would hold a timer whose task nobody polls for, and the
        time-skipping server does not skip past an unprocessed workflow task: every later
        test's sleep would stall. Orders placed over HTTP are found in the projection."""
        with self.engine.connect() as conn:
            final = [s.value for s in FINAL_STATUSES]
            open_orders = select(orders.c.id).where(orders.c.status.not_in(final))
            projected = conn.execute(open_orders).scalars().all()
        for order_id in dict.fromkeys([*self.placed, *projected]):
            with contextlib.suppress(RPCError):
                await self.handle(order_id).terminate("test over")

    def handle(self, order_id: str) -> WorkflowHandle[OrderWorkflow, OrderResult]:
        return self.client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(order_id))

    async def view(self, order_id: str) -> OrderView:
        return await self.service.view(order_id)

    def request_id(self) -> str:
        self._requests += 1
        return f"req-{self._requests}"

    async def act(
        self,
        order_id: str,
        action: Action,
        actor: Actor,
        request_id: str | None = None,
        **fields: Any,
    ) -> OrderView:
        payload_type = ACTIONS[action].input
        payload = payload_type(actor=actor, request_id=request_id or self.request_id(), **fields)
        return await self.service.act(order_id, action, payload)

    async def to_published(
        self, order_id: str, video_id: str = "v-1", creator: Actor = CREATOR
    ) -> OrderView:
        """Drive an accepted order the happy way through script, video and publishing."""
        view = await self.view(order_id)
        if view.status is OrderStatus.AWAITING_ACCEPTANCE:
            view = await self.act(order_id, Action.ACCEPT, creator)
        if view.status is OrderStatus.SCRIPT_PENDING:
            await self.act(order_id, Action.SUBMIT_SCRIPT, creator, text="Open on the bottle.")
            await self.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
            await self.act(order_id, Action.CONFIRM_SCRIPT, CLIENT)
        await self.act(order_id, Action.SUBMIT_VIDEO, creator, video_id=video_id)
        await self.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
        await self.act(order_id, Action.CONFIRM_VIDEO, CLIENT)
        return await self.act(order_id, Action.PUBLISH, CLIENT)

    def balances(self, order_id: str) -> dict[str, int]:
        return ledger.balances(
            self.engine,
            [
                ledger.client_account(CLIENT.id),
                ledger.escrow_account(order_id),
                ledger.creator_account(CREATOR.id),
                ledger.creator_account(MCN_CREATOR.id),
                ledger.mcn_account(MCN.id),
                ledger.PLATFORM_FEES,
            ],
        )

    async def history_length(self, order_id: str, *, with_workflow_tasks: bool = False) -> int:
        """Events in the order's history. The time-skipping server records a workflow task
        even for a rejected update, which the real server drops; leave those out there."""
        history = await self.handle(order_id).fetch_history()
        if with_workflow_tasks:
            return len(history.events)
        return sum(1 for e in history.events if e.WhichOneof("attributes") not in _TASK_EVENTS)


@asynccontextmanager
async def running_stack(
    client: Client,
    engine: Engine,
    timings: Timings = DEFAULT_TIMINGS,
    replace_activities: dict[str, Callable[..., Any]] | None = None,
) -> AsyncIterator[Stack]:
    """Seed the parties and run a worker on a task queue of this test's own."""
    seed_parties(engine)
    task_queue = f"orders-{uuid.uuid4().hex[:8]}"
    settings = stack_settings(task_queue)
    activities = {
        **worker_activities(engine, simulated_adapters(engine)),
        **(replace_activities or {}),
    }
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with build_worker(client, task_queue, activities, executor):
            stack = Stack(
                client=client,
                engine=engine,
                # The simulator's controls, over the state the worker's adapter reads.
                platform=SimulatedVideoPlatform(engine),
                service=order_service(client, engine, settings, timings),
                task_queue=task_queue,
                timings=timings,
            )
            try:
                yield stack
            finally:
                await stack.terminate_open_orders()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, attempts: int = 200) -> None:
    """Wait for the worker to finish processing what the server already decided (a timer
    that fired, a signal). Bounded, and the outcome does not depend on speed."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@asynccontextmanager
async def serving_on_loopback(app: Any) -> AsyncIterator[str]:
    """An ASGI app served by uvicorn on a free loopback port, in this event loop; its URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
