"""Orders whose workflow was terminated (the Web UI's Terminate) keep their money in escrow
until ops settle them, once, with `python -m scripts.admin stranded-orders --settle`."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.ledger import LedgerActivities
from db import ledger, orders
from scripts.admin import stranded_orders
from services import stranded
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, PRICE, Stack, eventually, running_stack
from tests.workflows.test_order_actions import order_at
from tests.workflows.test_order_cancel_requests import Gate, assert_refunded_once
from workflows.messages import OPS_ADMIN as OPS
from workflows.messages import Action, OrderStatus, OrderTerms, Resolution, SplitSettlement

S = OrderStatus


async def run_command(stack: Stack, settle: bool) -> tuple[int, str]:
    out = io.StringIO()
    refunded = await stranded_orders(stack.client, stack.engine, settle, out)
    return refunded, out.getvalue()


async def terminated_once_recorded(
    stack: Stack, order_id: str, action: Coroutine[Any, Any, object], recorded: OrderStatus
) -> None:
    """Ops press Terminate while `action` waits on a settlement that never gets through,
    once the order's row records `recorded`: its money is still in escrow."""
    acting = asyncio.create_task(action)

    async def in_record() -> bool:
        row = orders.order_row(stack.engine, order_id)
        return row is not None and row["status"] == recorded.value

    await eventually(in_record, f"the order is recorded {recorded}")
    await stack.handle(order_id).terminate("pressed Terminate in the Web UI")
    await asyncio.gather(acting, return_exceptions=True)


async def test_a_terminated_order_is_refunded_once_by_the_stranded_orders_command(
    stack: Stack,
) -> None:
    # rules P2 A2 A3 A4
    order_id = await order_at(stack, S.VIDEO_IN_REVIEW)
    running = await order_at(stack, S.SCRIPT_PENDING)
    await stack.handle(order_id).terminate("pressed Terminate in the Web UI")
    total = PRICE + stack.fee

    refunded, listing = await run_command(stack, settle=False)
    assert refunded == 0
    assert listing.splitlines() == [
        f"order {order_id}: workflow terminated, status video_in_review, {total} fen in escrow",
        "1 stranded order(s)",
    ]
    assert running not in listing  # its workflow runs and settles its own escrow
    assert stack.balances(order_id)[ledger.escrow_account(order_id)] == total

    refunded, report = await run_command(stack, settle=True)
    assert refunded == total
    assert f"settled, {total} fen moved" in report
    money = stack.balances(order_id)
    assert money[ledger.escrow_account(order_id)] == 0
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS - total  # the running one
    assert ledger.transfer_count(stack.engine, order_id, "refund") == 1
    entry = orders.timeline(stack.engine, order_id)[-1]
    assert (entry.action, entry.actor_role, entry.from_status, entry.to_status) == (
        "ops_cancel",
        "ops",
        "video_in_review",
        "cancelled",
    )
    assert "terminated" in (entry.reason or "")
    told = {n["recipient"] for n in orders.notifications_for(stack.engine, order_id)}
    assert {CLIENT.id, CREATOR.id} <= told
    row = orders.order_row(stack.engine, order_id)
    assert row is not None
    assert row["status"] == "cancelled"

    # The second run finds nothing and moves nothing.
    before = stack.balances(order_id)
    assert await run_command(stack, settle=True) == (
        0,
        "0 stranded order(s), 0 fen moved out of escrow\n",
    )
    assert stack.balances(order_id) == before
    assert ledger.transfer_count(stack.engine, order_id, "refund") == 1


async def test_an_order_terminated_while_its_freeze_ran_is_refunded_and_recorded(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules P2 A3 A4
    # The freeze commits after the workflow is gone: money in escrow, no order row.
    gate = Gate()
    freeze = gate.hold(LedgerActivities(sqlite_engine).freeze, "freeze_escrow", OrderTerms)
    async with running_stack(
        time_skipping_env.client, sqlite_engine, replace_activities={"freeze_escrow": freeze}
    ) as stack:
        placing = asyncio.create_task(stack.place())
        await gate.reached()
        order_id = stack.placed[-1]
        await stack.handle(order_id).terminate("stuck while placing")
        gate.opened.set()
        await asyncio.gather(placing, return_exceptions=True)

        # The worker runs the freeze to its end; the server then refuses its result.
        async def frozen() -> bool:
            return ledger.transfer_count(sqlite_engine, order_id, "freeze") == 1

        await eventually(frozen, "the freeze commits")
        # The freeze and the projection are local activities of one workflow task: the worker
        # may record the placement before the server refuses the task. Either way no row
        # says the order is over, and the tool finds it.
        row = orders.order_row(sqlite_engine, order_id)
        recorded = None if row is None else row["status"]
        assert recorded in (None, "awaiting_acceptance")

        [found] = await stranded.find_stranded(stack.client, sqlite_engine)
        assert (found.order_id, found.workflow, found.status) == (order_id, "terminated", recorded)
        assert await stranded.settle(stack.client, sqlite_engine, found) == PRICE + stack.fee
        assert_refunded_once(stack, order_id)
        row = orders.order_row(sqlite_engine, order_id)
        assert row is not None
        assert (row["status"], row["client_id"]) == ("cancelled", CLIENT.id)
        entry = orders.timeline(sqlite_engine, order_id)[-1]
        assert (entry.action, entry.from_status) == ("ops_cancel", recorded or "placing")
        assert await stranded.find_stranded(stack.client, sqlite_engine) == []


async def test_an_order_terminated_after_its_delivery_was_accepted_is_paid_not_refunded(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules P2 O8 A2 A3 A4
    # The release never gets through (the ledger refuses it), so the order sits in retention
    # with its money in escrow when ops press Terminate: the creator is owed the price.
    @activity.defn(name="release_escrow")
    def release_failing(terms: OrderTerms) -> None:
        raise ApplicationError("the ledger is unreachable")

    async with running_stack(
        time_skipping_env.client,
        sqlite_engine,
        replace_activities={"release_escrow": release_failing},
    ) as stack:
        order_id = await order_at(stack, S.PUBLISHED)
        accepting = stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
        await terminated_once_recorded(stack, order_id, accepting, S.IN_RETENTION)

        [found] = await stranded.find_stranded(stack.client, sqlite_engine)
        assert (found.workflow, found.status) == ("terminated", S.IN_RETENTION)
        total = PRICE + stack.fee
        assert await stranded.settle(stack.client, sqlite_engine, found) == total
        money = stack.balances(order_id)
        assert money[ledger.escrow_account(order_id)] == 0
        assert money[ledger.creator_account(CREATOR.id)] == PRICE
        assert money[ledger.PLATFORM_FEES] == stack.fee
        assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS - total
        assert ledger.transfer_count(sqlite_engine, order_id, "refund") == 0
        assert ledger.transfer_count(sqlite_engine, order_id, "release") == 1
        entry = orders.timeline(sqlite_engine, order_id)[-1]
        assert (entry.action, entry.actor_role, entry.from_status, entry.to_status) == (
            "ops_settle",
            "ops",
            "in_retention",
            "completed",
        )
        # Settled: the next run finds nothing and moves nothing.
        assert await stranded.find_stranded(stack.client, sqlite_engine) == []
        assert await stranded.settle(stack.client, sqlite_engine, found) == 0
        assert ledger.transfer_count(sqlite_engine, order_id, "release") == 1


async def test_an_order_terminated_before_its_agreed_split_moved_is_divided_as_agreed(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules X3 X4 P2 A2 A3
    # Ops resolve a dispute by cancelling with a split; the split never gets through (the
    # ledger refuses it), so the order is recorded cancelled with its money still in escrow
    # when ops press Terminate: the escrow is divided as resolved, not refunded in full.
    @activity.defn(name="split_escrow")
    def split_failing(settlement: SplitSettlement) -> None:
        raise ApplicationError("the ledger is unreachable")

    async with running_stack(
        time_skipping_env.client, sqlite_engine, replace_activities={"split_escrow": split_failing}
    ) as stack:
        order_id = await order_at(stack, S.PUBLISHED)
        await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="not the product")
        refund = PRICE // 3
        resolving = stack.act(
            order_id,
            Action.RESOLVE_DISPUTE,
            OPS,
            resolution=Resolution.CANCEL,
            refund_fen=refund,
            reason="a third back",
        )
        await terminated_once_recorded(stack, order_id, resolving, S.CANCELLED)

        [found] = await stranded.find_stranded(stack.client, sqlite_engine)
        assert (found.workflow, found.status) == ("terminated", S.CANCELLED)
        total = PRICE + stack.fee
        assert await stranded.settle(stack.client, sqlite_engine, found) == total
        fee_back = stack.fee * refund // PRICE
        money = stack.balances(order_id)
        assert money[ledger.escrow_account(order_id)] == 0
        assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS - total + refund + fee_back
        assert money[ledger.creator_account(CREATOR.id)] == PRICE - refund
        assert money[ledger.PLATFORM_FEES] == stack.fee - fee_back
        assert ledger.transfer_count(sqlite_engine, order_id, "refund") == 0
        assert ledger.transfer_count(sqlite_engine, order_id, "split") == 1
        assert ledger.check_invariants(sqlite_engine) == []
        # Settled: the next run finds nothing and moves nothing.
        assert await stranded.find_stranded(stack.client, sqlite_engine) == []
        assert await stranded.settle(stack.client, sqlite_engine, found) == 0
        assert ledger.transfer_count(sqlite_engine, order_id, "split") == 1
