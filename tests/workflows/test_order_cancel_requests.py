"""A cancellation requested in Temporal (the Web UI's "Request Cancellation", the SDK's
`handle.cancel()`) is an ops action: a full refund before the delivery is accepted, nothing
moved after it, and the money consistent whatever step it interrupts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.ledger import LedgerActivities
from activities.video import VideoActivities
from adapters.video_platform import SimulatedVideoPlatform
from db import ledger, orders
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, PRICE, Stack, eventually, running_stack
from tests.workflows.test_order_actions import order_at
from workflows.errors import ErrorKind
from workflows.messages import (
    Action,
    LinkVideoRequest,
    OrderStatus,
    OrderTerms,
)

S = OrderStatus
DAY = timedelta(days=1)


def last_entry(stack: Stack, order_id: str) -> orders.TimelineEntry:
    return orders.timeline(stack.engine, order_id)[-1]


def assert_refunded_once(stack: Stack, order_id: str) -> None:
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert money[ledger.escrow_account(order_id)] == 0
    assert money[ledger.creator_account(CREATOR.id)] == 0
    assert ledger.transfer_count(stack.engine, order_id, "refund") == 1
    assert ledger.transfer_count(stack.engine, order_id, "release") == 0


def assert_cancelled_by_ops(stack: Stack, order_id: str, reason: str) -> None:
    entries = orders.timeline(stack.engine, order_id)
    ops = [e for e in entries if e.action == "ops_cancel"]
    assert len(ops) == 1, entries
    assert (ops[0].actor_role, ops[0].to_status) == ("ops", "cancelled")
    assert ops[0].reason == reason
    told = {
        n["recipient"]
        for n in orders.notifications_for(stack.engine, order_id)
        if n["seq"] == ops[0].seq and n["kind"] == "cancelled"
    }
    assert told == {CLIENT.id, CREATOR.id}


@pytest.mark.parametrize(
    "status", [S.AWAITING_ACCEPTANCE, S.SCRIPT_PENDING, S.VIDEO_IN_REVIEW, S.PUBLISHED]
)
async def test_a_cancel_request_before_acceptance_refunds_in_full_as_an_ops_action(
    stack: Stack, status: OrderStatus
) -> None:
    # rules P2 O12 A3 A4
    order_id = await order_at(stack, status)
    handle = stack.handle(order_id)
    await handle.cancel(reason="the client called support")
    await handle.cancel()  # a second click: answered once

    result = await handle.result()
    assert result.status is S.CANCELLED
    # The workflow ended on its own terms, not as an abandoned, cancelled execution.
    last_event = (await handle.fetch_history()).events[-1]
    assert last_event.HasField("workflow_execution_completed_event_attributes")
    assert_refunded_once(stack, order_id)
    reason = "cancellation requested in Temporal: the client called support"
    assert_cancelled_by_ops(stack, order_id, reason)
    row = orders.order_row(stack.engine, order_id)
    assert row is not None
    assert row["status"] == "cancelled"
    assert (await stack.view(order_id)).status is S.CANCELLED


async def test_a_cancel_request_after_acceptance_moves_no_money_and_the_order_completes(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules P2 O8 O12 A4
    order_id = await order_at(stack, S.IN_RETENTION)
    paid = stack.balances(order_id)
    assert paid[ledger.creator_account(CREATOR.id)] == PRICE
    handle = stack.handle(order_id)
    await handle.cancel()

    async def refused() -> bool:
        return last_entry(stack, order_id).action == "cancel_refused"

    await eventually(refused, "the cancellation request is recorded as refused")
    entry = last_entry(stack, order_id)
    assert (entry.actor_role, entry.from_status, entry.to_status) == (
        "ops",
        "in_retention",
        "in_retention",
    )
    assert "refused: the delivery was accepted" in (entry.reason or "")
    assert stack.balances(order_id) == paid

    await time_skipping_env.sleep(31 * DAY)
    assert (await handle.result()).status is S.COMPLETED
    assert stack.balances(order_id) == paid
    assert ledger.transfer_count(stack.engine, order_id, "refund") == 0


class Gate:
    """Holds one activity at its start until the test opens the gate."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def hold(self, real: Callable[[Any], None], name: str, arg_type: type) -> Callable[..., None]:
        def held(arg: Any) -> None:
            self.entered.set()
            assert self.opened.wait(20), "the test never opened the gate"
            real(arg)

        held.__annotations__ = {"arg": arg_type, "return": None}  # for the data converter
        return activity.defn(name=name)(held)

    async def reached(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 20), "the activity never started"


async def test_a_cancel_request_while_the_freeze_runs_refunds_once_after_it(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules P2 A2 A3
    gate = Gate()
    freeze = gate.hold(LedgerActivities(sqlite_engine).freeze, "freeze_escrow", OrderTerms)
    async with running_stack(
        time_skipping_env.client, sqlite_engine, replace_activities={"freeze_escrow": freeze}
    ) as stack:
        placing = asyncio.create_task(stack.place())
        await gate.reached()
        order_id = stack.placed[-1]
        await stack.handle(order_id).cancel()
        gate.opened.set()
        await placing

        assert (await stack.handle(order_id).result()).status is S.CANCELLED
        assert ledger.transfer_count(stack.engine, order_id, "freeze") == 1
        assert_refunded_once(stack, order_id)
        actions = [e.action for e in orders.timeline(stack.engine, order_id)]
        assert actions == ["place", "ops_cancel"]


async def test_a_cancel_request_while_an_action_holds_the_lock_waits_for_it(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules P2 A3 A4
    gate = Gate()
    platform = SimulatedVideoPlatform(sqlite_engine)
    link = gate.hold(VideoActivities(platform, sqlite_engine).link, "link_video", LinkVideoRequest)
    async with running_stack(
        time_skipping_env.client, sqlite_engine, replace_activities={"link_video": link}
    ) as stack:
        order_id = await order_at(stack, S.VIDEO_PENDING)
        submitting = asyncio.create_task(
            stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-1")
        )
        await gate.reached()
        await stack.handle(order_id).cancel()
        gate.opened.set()
        assert (await submitting).status is S.VIDEO_IN_REVIEW

        assert (await stack.handle(order_id).result()).status is S.CANCELLED
        assert_refunded_once(stack, order_id)
        actions = [e.action for e in orders.timeline(stack.engine, order_id)]
        assert actions[-2:] == ["submit_video", "ops_cancel"]


async def test_a_cancel_request_while_the_release_runs_moves_nothing_more(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules P2 O8 A3
    gate = Gate()
    release = gate.hold(LedgerActivities(sqlite_engine).release, "release_escrow", OrderTerms)
    async with running_stack(
        time_skipping_env.client, sqlite_engine, replace_activities={"release_escrow": release}
    ) as stack:
        order_id = await order_at(stack, S.PUBLISHED)
        accepting = asyncio.create_task(stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT))
        await gate.reached()
        await stack.handle(order_id).cancel()
        gate.opened.set()
        assert (await accepting).status is S.IN_RETENTION

        async def refused() -> bool:
            return last_entry(stack, order_id).action == "cancel_refused"

        await eventually(refused, "the cancellation request is recorded as refused")
        assert ledger.transfer_count(stack.engine, order_id, "release") == 1
        assert ledger.transfer_count(stack.engine, order_id, "refund") == 0
        assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE


async def test_a_cancel_request_while_the_clients_refund_runs_refunds_once(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules P2 A2 A3
    gate = Gate()
    refund = gate.hold(LedgerActivities(sqlite_engine).refund, "refund_escrow", OrderTerms)
    async with running_stack(
        time_skipping_env.client, sqlite_engine, replace_activities={"refund_escrow": refund}
    ) as stack:
        order_id = (await stack.place()).terms.order_id
        cancelling = asyncio.create_task(
            stack.act(order_id, Action.CANCEL, CLIENT, reason="campaign moved")
        )
        await gate.reached()
        await stack.handle(order_id).cancel()
        gate.opened.set()
        assert (await cancelling).status is S.CANCELLED

        assert (await stack.handle(order_id).result()).status is S.CANCELLED
        assert_refunded_once(stack, order_id)
        actions = [e.action for e in orders.timeline(stack.engine, order_id)]
        assert actions == ["place", "cancel"]


async def test_a_release_after_an_ops_refund_moves_nothing_and_ends_the_order_cancelled(
    stack: Stack,
) -> None:
    # rules A2 A3 O12
    # What a workflow reset past an ops settlement meets: the escrow refunded outside it.
    order_id = await order_at(stack, S.PUBLISHED)
    assert ledger.refund_frozen(stack.engine, order_id) is not None

    view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert view.status is S.CANCELLED
    assert (await stack.handle(order_id).result()).status is S.CANCELLED
    assert_refunded_once(stack, order_id)
    entry = last_entry(stack, order_id)
    assert (entry.action, entry.from_status, entry.to_status) == (
        "escrow_already_settled",
        "in_retention",
        "cancelled",
    )
    assert "already refunded" in (entry.reason or "")


def test_a_refund_after_a_release_fails_once_with_a_type_the_workflow_records(
    sqlite_engine: Engine,
) -> None:
    # rules A2 A3
    from tests.stack import BRIEF, seed_parties

    seed_parties(sqlite_engine)
    terms = OrderTerms(
        order_id="o-reset", client_id=CLIENT.id, creator_id=CREATOR.id, price_fen=PRICE,
        fee_fen=50, brief=BRIEF,
    )  # fmt: skip
    money = LedgerActivities(sqlite_engine)
    money.freeze(terms)
    money.release(terms)
    with pytest.raises(ApplicationError) as refused:
        money.refund(terms)
    assert (refused.value.type, refused.value.details, refused.value.non_retryable) == (
        ErrorKind.ESCROW_ALREADY_SETTLED,
        ("release",),
        True,
    )
    assert ledger.transfer_count(sqlite_engine, "o-reset", "refund") == 0
    assert ledger.balance(sqlite_engine, ledger.creator_account(CREATOR.id)) == PRICE
