"""The app database (PostgreSQL) becomes unreachable while orders are in flight: actions,
placements and settlements hit the outage. The activities must retry until it is back, and
then nothing may be lost (every transition, every transfer) and nothing doubled."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from temporalio import activity
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from adapters.payments import SimulatedPaymentRails
from bootstrap import simulated_adapters, worker_activities
from db import ledger, orders
from services.orders import PlaceOrder, workflow_id
from services.wallets import top_up
from tests.chaos.support import (
    HAPPY_PATH,
    TO_PUBLISHED,
    advance,
    assert_books_sound,
    timeline_actions,
    transfer_kinds,
)
from tests.conftest import POSTGRES_ADMIN_URL
from tests.stack import (
    BRIEF,
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    PRICE,
    Stack,
    eventually,
    running_stack,
)
from workflows.messages import Action, OrderInput, OrderStatus, OrderTerms, Timings
from workflows.order import CLIENT_ID, CREATOR_ID, ORDER_STATUS, OrderWorkflow

pytestmark = [pytest.mark.chaos, pytest.mark.postgres]
S = OrderStatus
# The client accepts by hand; retention is 30 "days" of 50 ms; no periodic video check.
TIMINGS = Timings(
    accept_window=timedelta(minutes=10),
    auto_accept_after=timedelta(minutes=10),
    retention_day=timedelta(milliseconds=50),
    video_check_every=timedelta(hours=1),
)
BOUND_S = 90  # a generous bound on any one wait; the outcome does not depend on it
FAILURES_DURING_OUTAGE = 3  # each operation caught in the outage fails at least this often
EXTRA_FUNDS = 20 * PRICE


@dataclass(frozen=True)
class Attempt:
    activity: str
    order_id: str
    attempt: int
    error: str | None  # None: it succeeded


@dataclass
class Recorder:
    """Wraps every activity of the worker to log each attempt and its outcome. The first
    attempt of the activities in `hold` waits until the outage has begun, so that a settlement
    whose projection write already succeeded meets the outage in the ledger itself."""

    hold: set[tuple[str, str]]
    outage: threading.Event = field(default_factory=threading.Event)
    held: set[tuple[str, str]] = field(default_factory=set)
    attempts: list[Attempt] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            info = activity.info()
            key = (name, (info.workflow_id or "").removeprefix("order-"))
            if key in self.hold and info.attempt == 1:
                with self._lock:
                    self.held.add(key)
                self.outage.wait(BOUND_S)
            try:
                result = real(*args)
            except Exception as e:
                self._log(Attempt(*key, info.attempt, type(e).__name__))
                raise
            self._log(Attempt(*key, info.attempt, None))
            return result

        # The real activity's signature and type hints, so its argument is decoded the same.
        functools.update_wrapper(run, real, updated=())
        return activity.defn(name=name)(run)

    def _log(self, attempt: Attempt) -> None:
        with self._lock:
            self.attempts.append(attempt)

    def failures(self, name: str, order_id: str) -> list[Attempt]:
        with self._lock:
            return [
                a
                for a in self.attempts
                if (a.activity, a.order_id) == (name, order_id) and a.error is not None
            ]

    def successes(self, name: str, order_id: str) -> int:
        with self._lock:
            return sum(
                1
                for a in self.attempts
                if (a.activity, a.order_id) == (name, order_id) and a.error is None
            )


class Outage:
    """Makes one PostgreSQL database unreachable: no new connections, existing ones killed."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database
        assert database is not None
        self.database = database
        self.url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.active = False

    def _admin(self, *statements: str) -> None:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            for statement in statements:
                admin.execute(statement.encode())

    def begin(self) -> None:
        self.active = True
        self._admin(
            f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false',
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{self.database}' AND pid <> pg_backend_pid()",
        )

    def end(self) -> None:
        self._admin(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true')
        self.active = False

    def reachable(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=3):
                return True
        except psycopg.OperationalError:
            return False


@pytest.fixture
def outage(postgres_engine: Engine) -> Iterator[Outage]:
    cut = Outage(postgres_engine)
    yield cut
    if cut.active:  # the test failed during the outage: give the database back for teardown
        cut.end()


@dataclass
class Orders:
    """The orders of the test, by what happens to them."""

    accept_during: str = field(default_factory=lambda: uuid.uuid4().hex)
    video_during: str = field(default_factory=lambda: uuid.uuid4().hex)
    publish_during: str = field(default_factory=lambda: uuid.uuid4().hex)
    settle_during: str = field(default_factory=lambda: uuid.uuid4().hex)
    settle_held: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_during: str = field(default_factory=lambda: uuid.uuid4().hex)
    refused_during: str = field(default_factory=lambda: uuid.uuid4().hex)
    refund_held: str = field(default_factory=lambda: uuid.uuid4().hex)
    decline_during: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def completed(self) -> list[str]:
        return [
            self.accept_during,
            self.video_during,
            self.publish_during,
            self.settle_during,
            self.settle_held,
            self.started_during,
            self.refused_during,
        ]

    @property
    def cancelled(self) -> list[str]:
        return [self.refund_held, self.decline_during]


@pytest.fixture
async def stack(
    dev_server_env: WorkflowEnvironment, postgres_engine: Engine, recorder: Recorder
) -> AsyncIterator[Stack]:
    engine = postgres_engine
    real = worker_activities(engine, simulated_adapters(engine))
    wrapped = {name: recorder.wrap(name, fn) for name, fn in real.items()}
    async with running_stack(
        dev_server_env.client, engine, TIMINGS, replace_activities=wrapped
    ) as s:
        yield s


@pytest.fixture
def ids() -> Orders:
    return Orders()


@pytest.fixture
def recorder(ids: Orders) -> Recorder:
    return Recorder(hold={("release_escrow", ids.settle_held), ("refund_escrow", ids.refund_held)})


async def start_order_workflow(stack: Stack, order_id: str) -> None:
    """What OrderService.place does once it has read the creator's quote: start the order's
    workflow. Here the database goes down between the two."""
    terms = OrderTerms(
        order_id=order_id,
        client_id=CLIENT.id,
        creator_id=CREATOR.id,
        creator_xigua_account=f"xg-{CREATOR.id}",
        price_fen=PRICE,
        fee_fen=stack.fee,
        brief=BRIEF,
    )
    stack.placed.append(order_id)
    await stack.client.start_workflow(
        OrderWorkflow.run,
        OrderInput(terms=terms, timings=TIMINGS),
        id=workflow_id(order_id),
        task_queue=stack.task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(ORDER_STATUS, S.PLACING.value),
                SearchAttributePair(CLIENT_ID, CLIENT.id),
                SearchAttributePair(CREATOR_ID, CREATOR.id),
            ]
        ),
    )


def place_request(order_id: str) -> PlaceOrder:
    return PlaceOrder(client_id=CLIENT.id, creator_id=CREATOR.id, brief=BRIEF, order_id=order_id)


async def test_database_outage_loses_nothing_and_doubles_nothing(
    stack: Stack, outage: Outage, recorder: Recorder, ids: Orders
) -> None:
    # rules A2 A3 A4: activities retry through an outage of the app database
    engine = stack.engine
    top_up(engine, SimulatedPaymentRails(engine), CLIENT.id, EXTRA_FUNDS, "chaos-outage")
    began = time.monotonic()

    # Before the outage: every order placed but two, and taken to where it will be hit.
    async def prepare(order_id: str, status: OrderStatus) -> None:
        await stack.place(order_id=order_id)
        await advance(stack, order_id, status)

    await asyncio.wait_for(
        asyncio.gather(
            prepare(ids.accept_during, S.AWAITING_ACCEPTANCE),
            prepare(ids.video_during, S.VIDEO_PENDING),
            prepare(ids.publish_during, S.AWAITING_PUBLISH),
            prepare(ids.settle_during, S.PUBLISHED),
            prepare(ids.settle_held, S.PUBLISHED),
            prepare(ids.refund_held, S.AWAITING_ACCEPTANCE),
            prepare(ids.decline_during, S.AWAITING_ACCEPTANCE),
        ),
        BOUND_S,
    )
    # Two settlements whose transition is recorded, held just before their ledger transfer.
    in_flight = [
        asyncio.create_task(stack.act(ids.settle_held, Action.ACCEPT_DELIVERY, CLIENT)),
        asyncio.create_task(stack.act(ids.refund_held, Action.CANCEL, CLIENT, reason="no")),
    ]

    async def held() -> bool:
        return recorder.held == recorder.hold

    await eventually(held, "both settlements reach the ledger", attempts=BOUND_S * 20)

    # The outage: no new connection to the app database, the open ones killed.
    await asyncio.to_thread(outage.begin)
    cut_at = time.monotonic()
    assert not await asyncio.to_thread(outage.reachable)
    recorder.outage.set()  # the held settlements go on, into the outage

    # A placement that needs the database fails at once and starts nothing (the API: 503).
    with pytest.raises(OperationalError):
        await stack.service.place(place_request(ids.refused_during))
    # Everything else is taken in by Temporal and waits for the database.
    await start_order_workflow(stack, ids.started_during)
    in_flight += [
        asyncio.create_task(stack.act(ids.accept_during, Action.ACCEPT, CREATOR)),
        asyncio.create_task(
            stack.act(ids.video_during, Action.SUBMIT_VIDEO, CREATOR, video_id="v-outage")
        ),
        asyncio.create_task(stack.act(ids.publish_during, Action.PUBLISH, CLIENT)),
        asyncio.create_task(stack.act(ids.settle_during, Action.ACCEPT_DELIVERY, CLIENT)),
        asyncio.create_task(
            stack.act(ids.decline_during, Action.DECLINE, CREATOR, reason="fully booked")
        ),
    ]
    caught = {
        ("release_escrow", ids.settle_held),
        ("refund_escrow", ids.refund_held),
        ("freeze_escrow", ids.started_during),
        ("record_transition", ids.accept_during),
        ("link_video", ids.video_during),
        ("publish_video", ids.publish_during),
        ("record_transition", ids.settle_during),
        ("record_transition", ids.decline_during),
    }

    async def all_retrying() -> bool:
        return all(len(recorder.failures(*op)) >= FAILURES_DURING_OUTAGE for op in caught)

    await eventually(all_retrying, "every operation fails and retries", attempts=BOUND_S * 20)
    assert not any(task.done() for task in in_flight)
    with pytest.raises(RPCError) as missing:
        await stack.handle(ids.refused_during).describe()
    assert missing.value.status is RPCStatusCode.NOT_FOUND

    await asyncio.to_thread(outage.end)
    down_for = time.monotonic() - cut_at
    views = await asyncio.wait_for(asyncio.gather(*in_flight), BOUND_S)
    recovered_in = time.monotonic() - cut_at - down_for

    # The refused placement, retried now, places the order once.
    await stack.place(order_id=ids.refused_during)
    # The order started during the outage: its placement call, repeated, joins it.
    joined = await stack.service.place(place_request(ids.started_during))
    assert joined.status is S.AWAITING_ACCEPTANCE

    # Then every order goes on to its end.
    async def finish(order_id: str) -> OrderStatus:
        if (await stack.view(order_id)).status in HAPPY_PATH:  # else settled already
            await advance(stack, order_id, S.IN_RETENTION)
        return (await stack.handle(order_id).result()).status

    finals = await asyncio.wait_for(asyncio.gather(*(finish(o) for o in ids.completed)), BOUND_S)
    assert finals == [S.COMPLETED] * len(ids.completed)
    for order_id in ids.cancelled:
        assert (await stack.handle(order_id).result()).status is S.CANCELLED

    # Nothing lost, nothing doubled: every transition once, every transfer once.
    for order_id in ids.completed:
        assert timeline_actions(engine, order_id) == [
            *TO_PUBLISHED,
            "accept_delivery",
            "retention_ended",
        ], order_id
        assert transfer_kinds(engine, order_id) == {"freeze": 1, "release": 1}, order_id
        assert recorder.successes("release_escrow", order_id) == 1
        kinds = Counter(n["kind"] for n in orders.notifications_for(engine, order_id))
        assert kinds["paid"] == 1, order_id
    assert timeline_actions(engine, ids.refund_held) == ["place", "cancel"]
    assert timeline_actions(engine, ids.decline_during) == ["place", "decline"]
    for order_id in ids.cancelled:
        assert transfer_kinds(engine, order_id) == {"freeze": 1, "refund": 1}, order_id
        assert recorder.successes("refund_escrow", order_id) == 1
    for order_id in [*ids.completed, *ids.cancelled]:
        assert ledger.balance(engine, ledger.escrow_account(order_id)) == 0
    paid, fee = len(ids.completed), stack.fee
    assert ledger.balance(engine, ledger.creator_account(CREATOR.id)) == paid * PRICE
    assert ledger.balance(engine, ledger.PLATFORM_FEES) == paid * fee
    assert ledger.balance(engine, ledger.client_account(CLIENT.id)) == (
        CLIENT_FUNDS + EXTRA_FUNDS - paid * (PRICE + fee)
    )
    assert [view.status for view in views] == [
        S.IN_RETENTION,  # settle_held
        S.CANCELLED,  # refund_held
        S.SCRIPT_PENDING,  # accept_during
        S.VIDEO_IN_REVIEW,  # video_during
        S.PUBLISHED,  # publish_during
        S.IN_RETENTION,  # settle_during
        S.CANCELLED,  # decline_during
    ]
    assert_books_sound(engine)

    failed = sum(1 for a in recorder.attempts if a.error is not None)
    errors = Counter(a.error for a in recorder.attempts if a.error is not None)
    print(
        f"\ndatabase outage: {len(ids.completed) + len(ids.cancelled)} orders, database down "
        f"{down_for:.1f} s, in-flight requests done {recovered_in:.1f} s after it came back; "
        f"{len(caught)} operations caught, {failed} failed attempts ({dict(errors)}); "
        f"test took {time.monotonic() - began:.1f} s"
    )
