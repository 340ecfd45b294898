"""Every wait ends by rule (SPEC D1-D5), driven by skipping time on the test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from services.orders import OrderError, workflow_id
from tests.stack import (
    BRIEF,
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    REVIEWER,
    Stack,
    eventually,
    running_stack,
)
from workflows.deadlines import RULES
from workflows.messages import (
    Action,
    Actor,
    DeadlineKind,
    OrderStatus,
    OrderTerms,
    OrderView,
    Outcome,
    Role,
    Timings,
)
from workflows.state import OrderState

S = OrderStatus
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OPS = Actor(id="ops-1", role=Role.OPS)


async def until(stack: Stack, order_id: str, check: str, predicate: object) -> OrderView:
    """The order's view once `predicate(view)` holds: the worker applies what the skipped
    time made due on its own schedule."""
    seen: list[OrderView] = []

    async def holds() -> bool:
        seen.append(await stack.view(order_id))
        return bool(predicate(seen[-1]))  # type: ignore[operator]

    await eventually(holds, check)
    return seen[-1]


def last(stack: Stack, order_id: str) -> orders.TimelineEntry:
    return orders.timeline(stack.engine, order_id)[-1]


def told(stack: Stack, order_id: str, kind: str) -> list[str]:
    return [
        n["recipient"]
        for n in orders.notifications_for(stack.engine, order_id)
        if n["kind"] == kind
    ]


def assert_refunded_in_full(stack: Stack, order_id: str) -> None:
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert money[ledger.escrow_account(order_id)] == 0


async def accepted(stack: Stack, **kwargs: Any) -> str:
    order_id = (await stack.place(**kwargs)).terms.order_id
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    return order_id


async def test_every_waiting_status_shows_who_must_act_by_when_and_what_happens(
    stack: Stack,
) -> None:
    # rules D1 D2
    order_id = (await stack.place()).terms.order_id
    steps: list[tuple[Action, Actor, dict[str, Any]]] = [
        (Action.ACCEPT, CREATOR, {}),
        (Action.SUBMIT_SCRIPT, CREATOR, {"text": "Open on the bottle."}),
        (Action.REVIEW_SCRIPT, REVIEWER, {"approve": True}),
        (Action.CONFIRM_SCRIPT, CLIENT, {}),
        (Action.SUBMIT_VIDEO, CREATOR, {"video_id": "v-d1"}),
        (Action.REVIEW_VIDEO, REVIEWER, {"approve": True}),
        (Action.CONFIRM_VIDEO, CLIENT, {}),
        (Action.PUBLISH, CLIENT, {}),
        (Action.ACCEPT_DELIVERY, CLIENT, {}),
    ]
    view = await stack.view(order_id)
    for step in [None, *steps]:
        if step is not None:
            action, actor, fields = step
            view = await stack.act(order_id, action, actor, **fields)
        rule = RULES[view.status]
        first = view.next[0]
        assert (first.actor, first.outcome, first.at_deadline) == (
            rule.party,
            rule.outcome,
            rule.at_deadline,
        ), view.status
        assert first.deadline == view.deadlines[0].due_at
        row = orders.order_row(stack.engine, order_id)
        assert row is not None
        assert (row["next_actor"], row["at_deadline"]) == (rule.party.value, rule.at_deadline)
        assert row["deadline"] == first.deadline


async def test_a_late_script_is_overdue_and_the_client_cancels_with_a_full_refund(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D2 O12 A3
    order_id = await accepted(stack)
    due = (await stack.view(order_id)).next[0].deadline
    assert due is not None
    with pytest.raises(OrderError) as early:
        await stack.act(order_id, Action.CANCEL_OVERDUE, CLIENT, reason="too slow")
    assert early.value.kind == "InvalidState"

    await time_skipping_env.sleep(3 * DAY + HOUR)
    view = await until(stack, order_id, "the script is overdue", lambda v: v.overdue)
    assert view.status is S.SCRIPT_PENDING
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role) == ("overdue", "system")
    assert "rule D2" in (entry.reason or "")
    assert set(told(stack, order_id, "overdue")) == {CLIENT.id, CREATOR.id}
    grace = view.next[0]
    assert (grace.actor, grace.outcome) == (Role.CREATOR, Outcome.GRACE_CANCEL)

    view = await stack.act(order_id, Action.CANCEL_OVERDUE, CLIENT, reason="too slow")
    assert view.status is S.CANCELLED
    assert_refunded_in_full(stack, order_id)


async def test_a_late_video_is_cancelled_after_the_grace_with_a_full_refund(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D2 O12 A3
    order_id = await accepted(stack, skip_script=True)
    assert (await stack.view(order_id)).status is S.VIDEO_PENDING
    await time_skipping_env.sleep(7 * DAY + HOUR)
    await until(stack, order_id, "the video is overdue", lambda v: v.overdue)
    await time_skipping_env.sleep(6 * DAY)
    assert (await stack.view(order_id)).status is S.VIDEO_PENDING

    await time_skipping_env.sleep(DAY)
    result = await stack.handle(order_id).result()
    assert result.status is S.CANCELLED
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role, entry.from_status) == (
        "overdue_cancel",
        "system",
        "video_pending",
    )
    assert "grace" in (entry.reason or "")
    assert_refunded_in_full(stack, order_id)


async def test_a_late_review_is_escalated_to_ops_and_never_approved(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D2 P1
    order_id = await accepted(stack)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="A script")
    await time_skipping_env.sleep(DAY + HOUR)
    view = await until(stack, order_id, "the review is escalated", lambda v: v.escalated)
    assert view.status is S.SCRIPT_IN_REVIEW
    assert view.scripts[-1].reviews == []
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role) == ("escalate", "system")
    assert told(stack, order_id, "escalated") == ["ops"]

    await time_skipping_env.sleep(10 * DAY)
    assert (await stack.view(order_id)).status is S.SCRIPT_IN_REVIEW  # still nobody approved
    view = await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    assert (view.status, view.escalated) == (S.SCRIPT_AWAITING_CLIENT, False)


async def test_a_silent_client_has_the_script_confirmed_automatically(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule D2
    order_id = await accepted(stack)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="A script")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    await time_skipping_env.sleep(3 * DAY + HOUR)
    view = await until(stack, order_id, "auto-confirmed", lambda v: v.status is S.VIDEO_PENDING)
    assert view.scripts[-1].reviews[-1].by.role is Role.SYSTEM
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role) == ("auto_confirm_script", "system")
    assert "rule D2" in (entry.reason or "")


async def test_a_silent_client_has_the_video_confirmed_and_published_automatically(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D2 O6
    order_id = await accepted(stack, skip_script=True)
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-auto")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    await time_skipping_env.sleep(3 * DAY + HOUR)
    await until(stack, order_id, "auto-confirmed", lambda v: v.status is S.AWAITING_PUBLISH)
    assert last(stack, order_id).action == "auto_confirm_video"

    await time_skipping_env.sleep(3 * DAY)
    view = await until(stack, order_id, "auto-published", lambda v: v.status is S.PUBLISHED)
    assert [p.video_id for p in view.publications] == ["v-auto"]
    assert stack.platform.stats("v-auto").public
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role) == ("auto_publish", "system")
    assert view.next[0].outcome is Outcome.AUTO_ACCEPT


async def test_reminders_are_written_at_their_offsets_once_per_deadline(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule D3
    order_id = (await stack.place()).terms.order_id
    await time_skipping_env.sleep(21 * HOUR)
    assert told(stack, order_id, "reminder") == []
    await time_skipping_env.sleep(90 * timedelta(minutes=1))  # 2 h before the window closes
    await eventually(
        lambda: _async(told(stack, order_id, "reminder") == [CREATOR.id]), "creator reminded"
    )
    await time_skipping_env.sleep(HOUR)
    assert told(stack, order_id, "reminder") == [CREATOR.id]  # not repeated
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role, entry.to_status) == (
        "remind",
        "system",
        "awaiting_acceptance",
    )

    # A deadline of 3 days: 24 h before it.
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await time_skipping_env.sleep(DAY + 22 * HOUR)
    assert told(stack, order_id, "reminder") == [CREATOR.id]
    await time_skipping_env.sleep(3 * HOUR)
    await eventually(
        lambda: _async(told(stack, order_id, "reminder") == [CREATOR.id, CREATOR.id]),
        "creator reminded of the script",
    )


async def test_a_granted_extension_moves_the_running_timer_and_reminds_again(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D4 D3
    order_id = await accepted(stack)
    script = (await stack.view(order_id)).deadlines[0]
    assert script.kind is DeadlineKind.SCRIPT
    await time_skipping_env.sleep(2 * DAY + HOUR)
    await eventually(lambda: _async(len(told(stack, order_id, "reminder")) == 1), "reminded")

    later = script.due_at + 2 * DAY
    view = await stack.act(
        order_id, Action.REQUEST_EXTENSION, CREATOR, due_at=later, reason="the actor is ill"
    )
    assert view.extension is not None
    assert [s.actor for s in view.next] == [Role.CREATOR, Role.CLIENT]
    view = await stack.act(order_id, Action.ANSWER_EXTENSION, CLIENT, grant=True)
    assert view.extension is None
    assert view.next[0].deadline == later
    assert last(stack, order_id).action == "answer_extension"

    await time_skipping_env.sleep(2 * DAY)  # past the first due date
    view = await stack.view(order_id)
    assert (view.status, view.overdue) == (S.SCRIPT_PENDING, False)
    await eventually(lambda: _async(len(told(stack, order_id, "reminder")) == 2), "reminded again")
    await time_skipping_env.sleep(DAY)
    await until(stack, order_id, "overdue at the new date", lambda v: v.overdue)


async def test_an_unanswered_extension_lapses_at_the_deadline_it_asked_to_move(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule D4
    order_id = await accepted(stack)
    due = (await stack.view(order_id)).deadlines[0].due_at
    await stack.act(
        order_id, Action.REQUEST_EXTENSION, CREATOR, due_at=due + DAY, reason="more footage"
    )
    await time_skipping_env.sleep(3 * DAY + HOUR)
    view = await until(stack, order_id, "overdue", lambda v: v.overdue)
    assert view.extension is None
    actions = [e.action for e in orders.timeline(stack.engine, order_id)]
    assert actions[-2:] == ["extension_lapsed", "overdue"]
    assert told(stack, order_id, "extension_lapsed") == [CREATOR.id]


async def test_ops_move_a_deadline_with_a_reason_and_the_timer_follows(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D4 P2
    order_id = (await stack.place()).terms.order_id
    now = await time_skipping_env.get_current_time()
    with pytest.raises(OrderError) as refused:
        await stack.act(order_id, Action.MOVE_DEADLINE, OPS, due_at=now - HOUR, reason="typo")
    assert refused.value.kind == "InvalidInput"

    view = await stack.act(
        order_id, Action.MOVE_DEADLINE, OPS, due_at=now + 3 * HOUR, reason="creator asked ops"
    )
    assert view.next[0].deadline == now + 3 * HOUR
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id) == ("move_deadline", OPS.id)
    assert "creator asked ops" in (entry.reason or "")

    await time_skipping_env.sleep(3 * HOUR + timedelta(minutes=1))
    assert (await stack.handle(order_id).result()).status is S.CANCELLED
    assert_refunded_in_full(stack, order_id)


async def test_the_brief_due_dates_drive_the_creator_deadlines(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules D2 O1
    now = await time_skipping_env.get_current_time()
    script_due = (now + 2 * DAY).replace(microsecond=0)
    brief = BRIEF.model_copy(update={"script_due": script_due})
    order_id = await accepted(stack, brief=brief)
    assert (await stack.view(order_id)).next[0].deadline == script_due


@pytest.mark.parametrize(
    ("field", "offset", "why"),
    [
        ("script_due", -DAY, "in the past"),
        ("video_due", HOUR, "less than"),
        ("video_due", 400 * DAY, "ahead"),
    ],
)
async def test_a_due_date_that_cannot_be_met_is_refused_at_placement(
    stack: Stack, field: str, offset: timedelta, why: str
) -> None:
    # rules D2 O1 A1
    brief = BRIEF.model_copy(update={field: datetime.now(UTC) + offset})
    with pytest.raises(OrderError) as refused:
        await stack.place(brief=brief)
    assert refused.value.kind == "InvalidInput"
    assert why in refused.value.message
    assert stack.balances(stack.placed[-1])[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS


def test_paused_deadlines_keep_their_remaining_time_and_run_on_at_resume() -> None:
    # rule D5
    start = datetime(2026, 12, 1, tzinfo=UTC)
    terms = OrderTerms(
        order_id="o-pause", client_id=CLIENT.id, creator_id=CREATOR.id, price_fen=100,
        fee_fen=5, brief=BRIEF,
    )  # fmt: skip
    state = OrderState(terms=terms, timings=Timings(), placed_at=start)
    state.enter(S.AWAITING_ACCEPTANCE, start)
    changes = state.changes
    assert state.next_wake() == start + 22 * HOUR  # the reminder, 2 h before

    state.pause_deadlines(start + 10 * HOUR)
    assert state.changes > changes  # the run loop re-arms
    assert state.next_wake() is None
    assert state.first_due(start + 30 * DAY) is None
    assert state.deadlines[0].paused_remaining == 14 * HOUR

    state.resume_deadlines(start + 5 * DAY)
    assert state.deadlines[0].due_at == start + 5 * DAY + 14 * HOUR
    assert state.next_wake() == start + 5 * DAY + 12 * HOUR
    due = state.first_due(start + 5 * DAY + 14 * HOUR)
    assert due is not None
    assert due.outcome is Outcome.AUTO_CANCEL


async def _async(value: bool) -> bool:
    return value


# On the dev server (what `make run` starts) the clocks are shortened by configuration (B4)
# rather than skipped; each wait is polled with a bound, and none races an action.
FAST = Timings(
    script_due_after=timedelta(seconds=1),
    video_due_after=timedelta(seconds=1),
    overdue_grace=timedelta(seconds=1),
    review_within=timedelta(seconds=1),
    client_confirm_within=timedelta(seconds=1),
)


@pytest.fixture
async def dev_stack(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine
) -> AsyncIterator[Stack]:
    async with running_stack(dev_server_env.client, sqlite_engine, timings=FAST) as s:
        yield s


async def test_on_the_dev_server_a_script_is_auto_confirmed_and_a_late_video_cancelled(
    dev_stack: Stack,
) -> None:
    # rules D2 P1 B4
    stack = dev_stack
    order_id = await accepted(stack)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="A script")
    await until(stack, order_id, "escalated", lambda v: v.escalated)
    query = f"Escalated = true AND ClientId = '{CLIENT.id}'"

    async def listed() -> bool:
        found = [w.id async for w in stack.client.list_workflows(query)]
        return workflow_id(order_id) in found

    await eventually(listed, "ops find the escalated order by its search attribute")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    # The client stays silent: confirmed, then the video is late, overdue, and cancelled.
    result = await stack.handle(order_id).result()
    assert result.status is S.CANCELLED
    actions = [e.action for e in orders.timeline(stack.engine, order_id)]
    assert actions[-3:] == ["auto_confirm_script", "overdue", "overdue_cancel"]
    assert_refunded_in_full(stack, order_id)
