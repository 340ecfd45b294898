"""The order workflow on the real dev server (the one `make run` starts), with durations
shortened by configuration (rule B4) instead of skipped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from services.orders import OrderError, workflow_id
from tests.stack import CLIENT, CREATOR, PRICE, REVIEWER, Stack, eventually, running_stack
from workflows.messages import Action, OrderStatus, OrderView, Outcome, Role, Timings

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


# The client's and the creator's deadlines of D2, short enough to pass while the test waits.
QUICK_DEADLINES = FAST.model_copy(
    update={
        "client_confirm_within": timedelta(seconds=1),
        "script_due_after": timedelta(seconds=1),
    }
)


async def until(stack: Stack, order_id: str, done: Callable[[OrderView], bool]) -> OrderView:
    """The order's view once `done` holds: a deadline the server fires in real time here.
    Bounded (60 s), and the outcome does not depend on speed."""
    for _ in range(1200):
        if done(view := await stack.view(order_id)):
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"order {order_id} never got there; it is {view.status}")


async def test_a_silent_client_has_the_script_confirmed_by_the_system(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules D1 D2
    async with running_stack(dev_server_env.client, sqlite_engine, QUICK_DEADLINES) as stack:
        order_id = (await stack.place()).terms.order_id
        await stack.act(order_id, Action.ACCEPT, CREATOR)
        await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="Open on the bottle.")
        approved = await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
        assert approved.status is S.SCRIPT_AWAITING_CLIENT
        step = approved.next[0]  # the client first; the parties may also leave (X1, X3)
        assert (step.actor, step.outcome) == (Role.CLIENT, Outcome.AUTO_CONFIRM_SCRIPT)

        view = await until(stack, order_id, lambda v: v.status is not S.SCRIPT_AWAITING_CLIENT)
        assert view.status is S.VIDEO_PENDING
        entry = orders.timeline(stack.engine, order_id)[-1]
        assert (entry.action, entry.actor_role) == ("auto_confirm_script", "system")
        assert stack.balances(order_id)[ledger.escrow_account(order_id)] == PRICE + stack.fee
        assert ledger.check_invariants(stack.engine) == []


async def test_the_client_cancels_an_overdue_order_with_a_full_refund(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules D2 A3
    async with running_stack(dev_server_env.client, sqlite_engine, QUICK_DEADLINES) as stack:
        before = ledger.balance(sqlite_engine, ledger.client_account(CLIENT.id))
        order_id = (await stack.place()).terms.order_id
        await stack.act(order_id, Action.ACCEPT, CREATOR)
        with pytest.raises(OrderError) as early:  # not overdue yet: no way out
            await stack.act(order_id, Action.CANCEL_OVERDUE, CLIENT, reason="too slow")
        assert early.value.kind == "InvalidState"

        overdue = await until(stack, order_id, lambda v: v.overdue)
        assert overdue.status is S.SCRIPT_PENDING
        cancelled = await stack.act(order_id, Action.CANCEL_OVERDUE, CLIENT, reason="no script")
        assert cancelled.status is S.CANCELLED
        assert (await stack.handle(order_id).result()).status is S.CANCELLED
        balances = stack.balances(order_id)
        assert balances[ledger.client_account(CLIENT.id)] == before
        assert balances[ledger.escrow_account(order_id)] == 0
        assert ledger.transfer_count(stack.engine, order_id, "refund") == 1
        assert ledger.check_invariants(stack.engine) == []
