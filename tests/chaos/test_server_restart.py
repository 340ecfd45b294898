"""The Temporal dev server is stopped and started again on the same SQLite file while orders
sit in every status, some of them with timers running through the outage. Every order must
then go on to its end: the right final status, the money moved once, the books sound."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

import pytest
from sqlalchemy import Engine

from adapters.payments import SimulatedPaymentRails
from bootstrap import connect_temporal, order_service
from config import Settings
from db import ledger
from scripts.run import wait_for_temporal
from services.orders import OrderService, PlaceOrder
from services.wallets import top_up
from tests.chaos.support import (
    TO_PUBLISHED,
    Child,
    Children,
    advance,
    assert_books_sound,
    dev_server_command,
    free_port,
    timeline_actions,
    transfer_kinds,
    video_for,
)
from tests.stack import (
    BRIEF,
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    PRICE,
    Stack,
    running_stack,
    stack_settings,
)
from workflows.messages import Action, OrderStatus, Timings

pytestmark = pytest.mark.chaos
S = OrderStatus

# Auto-accept 2 s after publishing, then 30 "days" of 100 ms.
FAST = Timings(
    accept_window=timedelta(minutes=10),
    auto_accept_after=timedelta(seconds=2),
    retention_day=timedelta(milliseconds=100),
    video_check_every=timedelta(seconds=1),
)
# Nothing happens by timer: the order waits for the test (retention lasts 30 h).
HOLD = Timings(
    accept_window=timedelta(minutes=10),
    auto_accept_after=timedelta(minutes=10),
    retention_day=timedelta(hours=1),
    video_check_every=timedelta(hours=1),
)
# The client accepts by hand; then 30 "days" of 100 ms.
MANUAL = HOLD.model_copy(
    update={"retention_day": timedelta(milliseconds=100), "video_check_every": timedelta(seconds=1)}
)
# Timers that come due while the server is down (the test keeps it down until they have).
WINDOW_SOON = HOLD.model_copy(update={"accept_window": timedelta(seconds=4)})
AUTO_ACCEPT_SOON = FAST.model_copy(update={"auto_accept_after": timedelta(seconds=4)})
RETENTION_SOON = MANUAL.model_copy(update={"retention_day": timedelta(milliseconds=150)})


class Finish(Enum):
    """What the test does after the restart to bring the order to its end."""

    DRIVE = "drive to publication, then wait for its timers"
    ACCEPT = "the client accepts delivery, then wait for the end of retention"
    DECLINE = "the creator declines"
    REMOVE_VIDEO = "the video is deleted on the platform during retention"
    WAIT = "wait: its timers end it"


@dataclass(frozen=True)
class Plan:
    name: str
    timings: Timings
    before: OrderStatus  # where the order is taken before the server stops
    finish: Finish
    final: OrderStatus
    timeline: tuple[str, ...]
    # A timer of a few seconds ends the order: prepared last, just before the server stops,
    # and the server stays down until the timer is due. (On a very slow machine it may fire
    # before the stop; the order's end is asserted either way, its status at the stop is not.)
    timer_driven: bool = False


AUTO = (*TO_PUBLISHED, "auto_accept", "retention_ended")
ACCEPTED = (*TO_PUBLISHED, "accept_delivery", "retention_ended")
PLANS = [
    Plan("new, drive", FAST, S.AWAITING_ACCEPTANCE, Finish.DRIVE, S.COMPLETED, AUTO),
    Plan(
        "new, declined",
        HOLD,
        S.AWAITING_ACCEPTANCE,
        Finish.DECLINE,
        S.CANCELLED,
        ("place", "decline"),
    ),
    Plan(
        "new, window runs out",
        WINDOW_SOON,
        S.AWAITING_ACCEPTANCE,
        Finish.WAIT,
        S.CANCELLED,
        ("place", "auto_cancel"),
        timer_driven=True,
    ),
    *(
        Plan(f"{status}, drive", FAST, status, Finish.DRIVE, S.COMPLETED, AUTO)
        for status in (
            S.SCRIPT_PENDING,
            S.SCRIPT_IN_REVIEW,
            S.SCRIPT_AWAITING_CLIENT,
            S.VIDEO_PENDING,
            S.VIDEO_IN_REVIEW,
            S.VIDEO_AWAITING_CLIENT,
            S.AWAITING_PUBLISH,
        )
    ),
    Plan("published, client accepts", MANUAL, S.PUBLISHED, Finish.ACCEPT, S.COMPLETED, ACCEPTED),
    Plan(
        "published, auto-accept",
        AUTO_ACCEPT_SOON,
        S.PUBLISHED,
        Finish.WAIT,
        S.COMPLETED,
        AUTO,
        timer_driven=True,
    ),
    Plan(
        "in retention, video deleted",
        HOLD,
        S.IN_RETENTION,
        Finish.REMOVE_VIDEO,
        S.COMPLETED_WITH_VIOLATION,
        (*TO_PUBLISHED, "accept_delivery", "retention_violated"),
    ),
    Plan(
        "in retention, runs out",
        RETENTION_SOON,
        S.IN_RETENTION,
        Finish.WAIT,
        S.COMPLETED,
        ACCEPTED,
        timer_driven=True,
    ),
    Plan("completed", MANUAL, S.COMPLETED, Finish.WAIT, S.COMPLETED, ACCEPTED),
    Plan("cancelled", HOLD, S.CANCELLED, Finish.WAIT, S.CANCELLED, ("place", "cancel")),
]
PAID = {S.COMPLETED, S.COMPLETED_WITH_VIOLATION}
EXTRA_FUNDS = len(PLANS) * 2 * PRICE  # enough for every order at price + fee
BOUND_S = 90  # a generous bound on any one wait; the outcome does not depend on it


@dataclass
class DevServer:
    """A dev server of the test's own: its state in `db_file`, listening on `port`."""

    children: Children
    db_file: Path
    port: int
    child: Child | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.child = await self.children.start(
            "temporal", dev_server_command(self.db_file, self.port)
        )
        try:
            await wait_for_temporal(self.address, "default", timeout_s=BOUND_S)
        except Exception as e:
            raise AssertionError(f"dev server did not start\n{self.child.log_tail()}") from e

    async def stop(self) -> int:
        assert self.child is not None
        return await self.children.stop(self.child, timeout_s=BOUND_S)


@pytest.fixture
async def dev_server(children: Children, tmp_path: Path) -> AsyncIterator[DevServer]:
    server = DevServer(children, tmp_path / "temporal.db", free_port())
    await server.start()
    yield server
    if server.child is not None and server.child.running:
        await server.stop()


@pytest.fixture
async def stack(dev_server: DevServer, sqlite_engine: Engine) -> AsyncIterator[Stack]:
    client = await connect_temporal(Settings(temporal_address=dev_server.address))
    async with running_stack(client, sqlite_engine) as s:
        yield s


def service_for(stack: Stack, timings: Timings) -> OrderService:
    return order_service(stack.client, stack.engine, stack_settings(stack.task_queue), timings)


async def place(stack: Stack, plan: Plan) -> str:
    order_id = uuid.uuid4().hex
    stack.placed.append(order_id)
    request = PlaceOrder(client_id=CLIENT.id, creator_id=CREATOR.id, brief=BRIEF, order_id=order_id)
    await service_for(stack, plan.timings).place(request)
    return order_id


async def prepare(stack: Stack, plan: Plan) -> str:
    """Place the order and take it to the status it waits in while the server is down."""
    order_id = await place(stack, plan)
    if plan.before is S.CANCELLED:
        await stack.act(order_id, Action.CANCEL, CLIENT, reason="changed my mind")
    elif plan.before is S.COMPLETED:
        await advance(stack, order_id, S.IN_RETENTION)
        await stack.handle(order_id).result()
    elif plan.before is not S.AWAITING_ACCEPTANCE:
        await advance(stack, order_id, plan.before)
    return order_id


async def finish(stack: Stack, plan: Plan, order_id: str) -> OrderStatus:
    """Bring the order to its end after the restart; its final status."""
    if plan.finish is Finish.DRIVE:
        await advance(stack, order_id, S.PUBLISHED)
    elif plan.finish is Finish.ACCEPT:
        await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    elif plan.finish is Finish.DECLINE:
        await stack.act(order_id, Action.DECLINE, CREATOR, reason="fully booked")
    elif plan.finish is Finish.REMOVE_VIDEO:
        stack.platform.remove(video_for(order_id))
        await stack.service.video_removed(order_id, video_for(order_id), "deleted by the creator")
    return (await stack.handle(order_id).result()).status


async def test_dev_server_restart_with_orders_in_every_status(
    dev_server: DevServer, stack: Stack
) -> None:
    # rules O2 O7 O8 O9 A2 A3: durable orders survive a restart of the Temporal server
    top_up(stack.engine, SimulatedPaymentRails(stack.engine), CLIENT.id, EXTRA_FUNDS, "chaos")
    started = time.monotonic()
    prepared: dict[str, str] = {}
    for timer_driven in (False, True):
        plans = [plan for plan in PLANS if plan.timer_driven is timer_driven]
        ids = await asyncio.wait_for(
            asyncio.gather(*(prepare(stack, plan) for plan in plans)), BOUND_S
        )
        prepared |= {plan.name: oid for plan, oid in zip(plans, ids, strict=True)}
    order_ids = [prepared[plan.name] for plan in PLANS]
    views = [await stack.view(oid) for oid in order_ids]
    before = [view.status for view in views]
    for plan, status in zip(PLANS, before, strict=True):
        if not plan.timer_driven:
            assert status is plan.before, plan.name
    # The next timers of the timer-driven orders: the server stays down until they are due.
    due = [
        view.next[0].deadline
        for plan, view in zip(PLANS, views, strict=True)
        if plan.timer_driven and not view.status.is_final and view.next[0].deadline
    ]

    stopped_at = datetime.now(UTC)
    stop_began = time.monotonic()
    # SIGTERM, then wait for the server to exit by itself (it is killed only after BOUND_S).
    assert await dev_server.stop() != -signal.SIGKILL
    if due:
        await asyncio.sleep(max(0.0, (max(due) - datetime.now(UTC)).total_seconds()) + 0.5)
    due_while_down = sum(1 for deadline in due if deadline > stopped_at)
    down_for = time.monotonic() - stop_began
    await dev_server.start()

    # Every order is still there, where it was (the worker serves the queries again).
    for plan, order_id in zip(PLANS, order_ids, strict=True):
        view = await asyncio.wait_for(stack.view(order_id), BOUND_S)
        if not plan.timer_driven:
            assert view.status is plan.before, plan.name

    finals = await asyncio.wait_for(
        asyncio.gather(
            *(finish(stack, plan, oid) for plan, oid in zip(PLANS, order_ids, strict=True))
        ),
        BOUND_S,
    )
    engine = stack.engine
    for plan, order_id, final in zip(PLANS, order_ids, finals, strict=True):
        assert final is plan.final, plan.name
        assert timeline_actions(engine, order_id) == list(plan.timeline), plan.name
        settlement = "release" if plan.final in PAID else "refund"
        assert transfer_kinds(engine, order_id) == {"freeze": 1, settlement: 1}, plan.name
        assert ledger.balance(engine, ledger.escrow_account(order_id)) == 0, plan.name

    paid = sum(1 for plan in PLANS if plan.final in PAID)
    fee = stack.fee
    assert ledger.balance(engine, ledger.creator_account(CREATOR.id)) == paid * PRICE
    assert ledger.balance(engine, ledger.PLATFORM_FEES) == paid * fee
    assert ledger.balance(engine, ledger.client_account(CLIENT.id)) == (
        CLIENT_FUNDS + EXTRA_FUNDS - paid * (PRICE + fee)
    )
    assert_books_sound(engine)
    print(
        f"\nserver restart: {len(PLANS)} orders, statuses at the stop: "
        f"{', '.join(sorted(str(s) for s in before))}; {due_while_down} of {len(due)} timers "
        f"came due while the server was down ({down_for:.1f} s); {paid} paid, "
        f"{len(PLANS) - paid} refunded; test took {time.monotonic() - started:.1f} s"
    )
