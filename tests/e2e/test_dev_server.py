"""The order workflow on the real dev server (the one `make run` starts), with durations
shortened by configuration (rule B4) instead of skipped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from services.orders import OrderError, workflow_id
from tests.stack import CLIENT, CREATOR, PRICE, Stack, eventually, running_stack
from workflows.messages import Action, OrderStatus, Timings

S = OrderStatus
# Short enough to watch whole orders end in seconds; the accept window stays long, so that a
# slow machine cannot auto-cancel an order before the test accepts it.
FAST = Timings(
    accept_window=timedelta(minutes=10),
    auto_accept_after=timedelta(seconds=1),
    retention_day=timedelta(milliseconds=50),
    video_check_every=timedelta(milliseconds=500),
)
SHORT_ACCEPT_WINDOW = FAST.model_copy(update={"accept_window": timedelta(seconds=1)})


@pytest.fixture
async def stack(dev_server_env: WorkflowEnvironment, sqlite_engine: Engine) -> AsyncIterator[Stack]:
    async with running_stack(dev_server_env.client, sqlite_engine, timings=FAST) as s:
        yield s


async def find(stack: Stack, query: str) -> list[str]:
    return [w.id async for w in stack.client.list_workflows(query)]


async def test_whole_order_runs_on_the_dev_server_with_configured_durations(stack: Stack) -> None:
    # rules O1 O4 O5 O6 O7 O8 O9 O12 B3 B4
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    result = await stack.handle(order_id).result()  # auto-accepts, then 30 short days pass
    assert result.status is S.COMPLETED
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE
    actions = [e.action for e in orders.timeline(stack.engine, order_id)]
    assert actions[-2:] == ["auto_accept", "retention_ended"]

    # Ops find the order in the Temporal UI by its search attributes.
    query = f"OrderStatus = 'completed' AND ClientId = '{CLIENT.id}' AND CreatorId = '{CREATOR.id}'"

    async def listed() -> bool:
        return workflow_id(order_id) in await find(stack, query)

    await eventually(listed, "the completed order is listed by status, client and creator")


async def test_client_accept_racing_the_auto_accept_timer_pays_exactly_once(stack: Stack) -> None:
    # rules O7 A2 A3
    # On real time, not the time-skipping server: that one can lose an update that arrives
    # while it fires a timer, and the test would hang instead of racing.
    order_id = (await stack.place()).terms.order_id
    published = await stack.to_published(order_id)
    auto_accept_at = next(step.deadline for step in published.next if step.deadline)
    # Aimed at the instant the timer fires: either side may win, and both outcomes are checked.
    await asyncio.sleep(max(0.0, (auto_accept_at - datetime.now(UTC)).total_seconds()))
    (accepted,) = await asyncio.gather(
        stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT), return_exceptions=True
    )
    if isinstance(accepted, BaseException):  # the timer won: the client is told why
        assert isinstance(accepted, OrderError)
        assert accepted.kind == "InvalidState"

    assert (await stack.handle(order_id).result()).status is S.COMPLETED
    assert ledger.transfer_count(stack.engine, order_id, "release") == 1
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE
    actions = [e.action for e in orders.timeline(stack.engine, order_id)]
    assert actions.count("accept_delivery") + actions.count("auto_accept") == 1


async def test_waiting_orders_carry_their_next_deadline(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rule B3
    async with running_stack(dev_server_env.client, sqlite_engine, SHORT_ACCEPT_WINDOW) as stack:
        await _deadline_then_auto_cancel(stack)


async def _deadline_then_auto_cancel(stack: Stack) -> None:
    view = await stack.place()
    order_id = view.terms.order_id
    deadline = view.next[0].deadline
    assert deadline is not None

    async def listed() -> bool:
        described = await stack.handle(order_id).describe()
        attrs = described.typed_search_attributes
        return any(p.key.name == "NextDeadline" and p.value == deadline for p in attrs)

    await eventually(listed, "NextDeadline is the accept deadline")
    # And the accept window runs out for real: cancelled and refunded (rule O2).
    assert (await stack.handle(order_id).result()).status is S.CANCELLED
    assert stack.balances(order_id)[ledger.escrow_account(order_id)] == 0


async def test_rejected_action_leaves_no_event_in_history(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rule A1 (default durations: no timer may add events while we look)
    async with running_stack(dev_server_env.client, sqlite_engine) as stack:
        order_id = (await stack.place()).terms.order_id
        before = await stack.history_length(order_id, with_workflow_tasks=True)
        with pytest.raises(OrderError) as refused:
            await stack.act(order_id, Action.PUBLISH, CLIENT)
        assert refused.value.kind == "InvalidState"
        with pytest.raises(OrderError) as forbidden:
            await stack.act(order_id, Action.ACCEPT, CLIENT)
        assert forbidden.value.kind == "Forbidden"
        assert await stack.history_length(order_id, with_workflow_tasks=True) == before
