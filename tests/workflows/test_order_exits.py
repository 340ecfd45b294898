"""A way out of every order after acceptance (SPEC X1-X4, P2), driven by skipping time on the
test server: cancellation by agreement, revision caps, disputes, split settlements, ops."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from services.creators import set_quote
from services.orders import OrderError
from tests.stack import (
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    MCN,
    MCN_CREATOR,
    PRICE,
    REVIEWER,
    Stack,
    eventually,
)
from workflows.messages import (
    Action,
    Actor,
    DeadlineKind,
    OrderStatus,
    OrderView,
    Role,
)

S = OrderStatus
K = DeadlineKind
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
OPS = Actor(id="ops-1", role=Role.OPS)
# A refund whose fee share does not divide: 5000 x 33333 / 100000 = 1666.65 fen.
ODD_REFUND = 33_333
ODD_FEE_BACK = 1_666


async def until(
    stack: Stack, order_id: str, what: str, holds: Callable[[OrderView], bool]
) -> OrderView:
    seen: list[OrderView] = []

    async def reached() -> bool:
        seen.append(await stack.view(order_id))
        return holds(seen[-1])

    await eventually(reached, what)
    return seen[-1]


def actions(stack: Stack, order_id: str) -> list[str]:
    return [e.action for e in orders.timeline(stack.engine, order_id)]


def last(stack: Stack, order_id: str) -> orders.TimelineEntry:
    return orders.timeline(stack.engine, order_id)[-1]


def told(stack: Stack, order_id: str, kind: str) -> set[str]:
    return {
        n["recipient"]
        for n in orders.notifications_for(stack.engine, order_id)
        if n["kind"] == kind
    }


async def refused(
    stack: Stack, order_id: str, action: Action, actor: Actor, kind: str, **fields: Any
) -> str:
    """The action is refused with `kind` and changes nothing: the order's view, the money."""
    before, money = await stack.view(order_id), stack.balances(order_id)
    with pytest.raises(OrderError) as error:
        await stack.act(order_id, action, actor, **fields)
    assert error.value.kind == kind, error.value.message
    assert await stack.view(order_id) == before
    assert stack.balances(order_id) == money
    return error.value.message


async def accepted(stack: Stack, creator: Actor = CREATOR, **placement: Any) -> str:
    order_id = (await stack.place(creator=creator, **placement)).terms.order_id
    await stack.act(order_id, Action.ACCEPT, creator)
    return order_id


def assert_split(
    stack: Stack, order_id: str, refund: int, payee: str = ledger.creator_account(CREATOR.id)
) -> None:
    """X4 on the order's own books: r and its fee share back, p - r paid, escrow empty."""
    # rules X4 A3
    fee = stack.fee
    fee_back = fee * refund // PRICE
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS - PRICE - fee + refund + fee_back
    assert money[payee] == PRICE - refund
    assert money[ledger.PLATFORM_FEES] == fee - fee_back
    assert money[ledger.escrow_account(order_id)] == 0
    assert ledger.transfer_count(stack.engine, order_id, "split") == 1
    assert ledger.transfer_count(stack.engine, order_id) == 2  # the freeze and the split
    assert ledger.check_invariants(stack.engine) == []


# ---------------------------------------------------------------- X1: cancellation by agreement


async def test_the_client_proposes_a_split_the_creator_agrees_and_the_order_ends_cancelled(
    stack: Stack,
) -> None:
    # rules X1 X4 O12 A4
    order_id = await accepted(stack)
    view = await stack.act(
        order_id,
        Action.PROPOSE_CANCELLATION,
        CLIENT,
        refund_fen=ODD_REFUND,
        reason="the campaign was cut",
    )
    assert view.proposal is not None
    assert (view.proposal.by, view.proposal.refund_fen) == (CLIENT, ODD_REFUND)
    lapse = next(d for d in view.deadlines if d.kind is K.CANCELLATION)
    assert lapse.party is Role.CREATOR
    assert lapse.due_at == view.proposal.proposed_at + 48 * HOUR
    assert told(stack, order_id, "cancellation_proposed") == {CREATOR.id}
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id) == ("propose_cancellation", CLIENT.id)
    assert "the campaign was cut" in (entry.reason or "")

    view = await stack.act(order_id, Action.ANSWER_CANCELLATION, CREATOR, agree=True)
    assert view.status is S.CANCELLED
    assert (await stack.handle(order_id).result()).status is S.CANCELLED
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id, entry.to_status) == (
        "answer_cancellation",
        CREATOR.id,
        "cancelled",
    )
    assert told(stack, order_id, "cancelled") == {CLIENT.id, CREATOR.id}
    assert_split(stack, order_id, ODD_REFUND)
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == (
        CLIENT_FUNDS - PRICE - stack.fee + ODD_REFUND + ODD_FEE_BACK
    )


async def test_the_creator_proposes_the_client_refuses_and_the_order_runs_on(stack: Stack) -> None:
    # rule X1
    order_id = await accepted(stack)
    script = (await stack.view(order_id)).deadlines[0]
    await stack.act(
        order_id, Action.PROPOSE_CANCELLATION, CREATOR, refund_fen=PRICE, reason="fell ill"
    )
    view = await stack.act(
        order_id, Action.ANSWER_CANCELLATION, CLIENT, agree=False, reason="please deliver"
    )
    assert (view.status, view.proposal) == (S.SCRIPT_PENDING, None)
    # The creator's own deadline was neither paused nor replaced by the proposal.
    assert view.deadlines == [script]
    assert told(stack, order_id, "cancellation_refused") == {CREATOR.id}
    assert "please deliver" in (last(stack, order_id).reason or "")
    # The order runs on: a new proposal may follow.
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=1, reason="then")
    assert stack.balances(order_id)[ledger.escrow_account(order_id)] == PRICE + stack.fee


async def test_one_proposal_at_a_time_answered_by_the_other_party_within_the_price(
    stack: Stack,
) -> None:
    # rules X1 A1
    order_id = await accepted(stack)
    message = await refused(
        stack,
        order_id,
        Action.PROPOSE_CANCELLATION,
        CLIENT,
        "InvalidInput",
        refund_fen=PRICE + 1,
        reason="too much",
    )
    assert f"at most the price, {PRICE} fen" in message
    await refused(stack, order_id, Action.ANSWER_CANCELLATION, CREATOR, "InvalidState", agree=True)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=0, reason="stop")
    for party in (CLIENT, CREATOR):
        message = await refused(
            stack,
            order_id,
            Action.PROPOSE_CANCELLATION,
            party,
            "InvalidState",
            refund_fen=5,
            reason="mine instead",
        )
        assert "a cancellation proposal is already open" in message
    message = await refused(
        stack, order_id, Action.ANSWER_CANCELLATION, CLIENT, "Forbidden", agree=True
    )
    assert "only the creator may answer_cancellation" in message


async def test_a_proposal_before_acceptance_or_after_delivery_is_refused(stack: Stack) -> None:
    # rules X1 A1
    order_id = (await stack.place()).terms.order_id
    fields = {"refund_fen": 0, "reason": "stop"}
    await refused(stack, order_id, Action.PROPOSE_CANCELLATION, CLIENT, "InvalidState", **fields)
    await stack.to_published(order_id)
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await refused(stack, order_id, Action.PROPOSE_CANCELLATION, CREATOR, "InvalidState", **fields)
    await refused(stack, order_id, Action.OPEN_DISPUTE, CLIENT, "InvalidState", reason="late")


async def test_an_unanswered_proposal_lapses_after_48h_and_the_own_deadline_runs_on(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules X1 D3 B4
    order_id = await accepted(stack)
    script = (await stack.view(order_id)).deadlines[0]
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CREATOR, refund_fen=10, reason="busy")
    await time_skipping_env.sleep(47 * HOUR)
    view = await stack.view(order_id)
    assert view.proposal is not None
    assert told(stack, order_id, "reminder") == {CLIENT.id}  # 24 h before it lapses

    await time_skipping_env.sleep(2 * HOUR)
    view = await until(stack, order_id, "the proposal lapses", lambda v: v.proposal is None)
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role) == ("cancellation_lapsed", "system")
    assert "rule X1" in (entry.reason or "")
    assert told(stack, order_id, "cancellation_lapsed") == {CLIENT.id, CREATOR.id}
    assert view.status is S.SCRIPT_PENDING
    assert [(d.kind, d.due_at) for d in view.deadlines] == [(K.SCRIPT, script.due_at)]
    await refused(stack, order_id, Action.ANSWER_CANCELLATION, CLIENT, "InvalidState", agree=True)
    # The creator's deadline falls when it always would have.
    await time_skipping_env.sleep(script.due_at - entry.at + HOUR)
    await until(stack, order_id, "overdue", lambda v: v.overdue)


async def test_a_proposal_outlives_a_status_change_and_pays_an_mcn_per_o8(stack: Stack) -> None:
    # rules X1 X4 O8
    order_id = await accepted(stack, creator=MCN_CREATOR)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=1, reason="cut")
    view = await stack.act(order_id, Action.SUBMIT_SCRIPT, MCN_CREATOR, text="Draft")
    assert view.status is S.SCRIPT_IN_REVIEW
    assert view.proposal is not None
    assert {d.kind for d in view.deadlines} == {K.SCRIPT_REVIEW, K.CANCELLATION}
    view = await stack.act(order_id, Action.ANSWER_CANCELLATION, MCN_CREATOR, agree=True)
    assert view.status is S.CANCELLED
    assert_split(stack, order_id, 1, payee=ledger.mcn_account(MCN.id))
    assert stack.balances(order_id)[ledger.creator_account(MCN_CREATOR.id)] == 0
    assert told(stack, order_id, "paid") == {MCN.id}  # N1: the payee hears of its share


@pytest.mark.parametrize("offset", [-MINUTE, timedelta(0), MINUTE])
async def test_a_proposal_racing_its_lapse_has_exactly_one_outcome(
    stack: Stack, time_skipping_env: WorkflowEnvironment, offset: timedelta
) -> None:
    # rules X1 A2 A3
    order_id = await accepted(stack)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=7, reason="stop")
    await time_skipping_env.sleep(48 * HOUR + offset)
    error: OrderError | None = None
    try:
        view = await stack.act(order_id, Action.ANSWER_CANCELLATION, CREATOR, agree=True)
    except OrderError as e:
        error = e
        view = await until(stack, order_id, "lapsed", lambda v: v.proposal is None)
    if error is not None:
        assert error.kind == "InvalidState", error.message
        assert "no cancellation proposal is open" in error.message
    done = actions(stack, order_id)
    agreed, lapsed = "answer_cancellation" in done, "cancellation_lapsed" in done
    assert agreed != lapsed, done
    if offset < timedelta(0):
        assert agreed
    if offset > timedelta(0):
        assert lapsed
    if agreed:
        assert view.status is S.CANCELLED
        assert_split(stack, order_id, 7)
    else:
        assert view.status is S.SCRIPT_PENDING
        assert stack.balances(order_id)[ledger.escrow_account(order_id)] == PRICE + stack.fee
        assert ledger.transfer_count(stack.engine, order_id) == 1


async def test_a_one_fen_order_without_fee_splits_end_to_end(stack: Stack) -> None:
    # rule X4: price 1 fen, fee 0, r = p
    set_quote(stack.engine, CREATOR.id, 1)
    order_id = await accepted(stack)
    assert (await stack.view(order_id)).terms.fee_fen == 0
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CREATOR, refund_fen=1, reason="sorry")
    await stack.act(order_id, Action.ANSWER_CANCELLATION, CLIENT, agree=True)
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert (money[ledger.creator_account(CREATOR.id)], money[ledger.PLATFORM_FEES]) == (0, 0)
    assert money[ledger.escrow_account(order_id)] == 0
    assert ledger.check_invariants(stack.engine) == []


# ---------------------------------------------------------------- X2: revision rounds


async def test_the_client_rejects_at_most_n_scripts_and_n_videos(stack: Stack) -> None:
    # rule X2
    order_id = await accepted(stack, revision_rounds=1)
    view = await stack.view(order_id)
    assert view.revisions is not None
    assert (view.revisions.allowed, view.revisions.scripts_left) == (1, 1)
    # A reviewer's rejection does not count.
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=False, reason="claims")
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v2")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    view = await stack.act(order_id, Action.REJECT_SCRIPT, CLIENT, reason="mention the price")
    assert view.revisions is not None
    assert (view.revisions.scripts_rejected, view.revisions.scripts_left) == (1, 0)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v3")
    view = await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    client = next(step for step in view.next if step.actor is Role.CLIENT)
    assert Action.REJECT_SCRIPT not in client.actions
    assert Action.CONFIRM_SCRIPT in client.actions
    message = await refused(
        stack, order_id, Action.REJECT_SCRIPT, CLIENT, "InvalidState", reason="still no"
    )
    assert "rule X2" in message
    for instead in ("confirm", "propose a cancellation", "open a dispute"):
        assert instead in message
    # The video phase has rounds of its own.
    await stack.act(order_id, Action.CONFIRM_SCRIPT, CLIENT)
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-x2a")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    view = await stack.act(order_id, Action.REJECT_VIDEO, CLIENT, reason="too dark")
    assert view.revisions is not None
    assert (view.revisions.videos_left, view.revisions.scripts_left) == (0, 0)
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-x2b")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    message = await refused(
        stack, order_id, Action.REJECT_VIDEO, CLIENT, "InvalidState", reason="still dark"
    )
    assert "rejected the video 1 times" in message
    # What it names instead is open to the client.
    view = await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="the video is not it")
    assert view.disputed


async def test_revision_rounds_default_to_3_and_are_chosen_within_the_bounds(
    stack: Stack,
) -> None:
    # rules X2 B4
    view = await stack.place()
    assert view.terms.revision_rounds == 3
    assert (await stack.place(revision_rounds=10)).terms.revision_rounds == 10
    for outside in (0, 11):
        with pytest.raises(OrderError) as error:
            await stack.place(revision_rounds=outside)
        assert error.value.kind == "InvalidInput"
        assert "1 to 10" in error.value.message
    assert ledger.check_invariants(stack.engine) == []


# ---------------------------------------------------------------- X3: disputes


async def test_a_dispute_pauses_every_deadline_is_escalated_after_3d_and_continues(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules X3 D5 A4
    order_id = await accepted(stack)
    await time_skipping_env.sleep(DAY)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=3, reason="stop")
    view = await stack.act(order_id, Action.OPEN_DISPUTE, CREATOR, reason="the brief changed")
    assert view.disputed
    assert view.dispute is not None
    assert view.proposal is None  # withdrawn: the dispute is ops' to decide
    script = next(d for d in view.deadlines if d.kind is K.SCRIPT)
    remaining = script.paused_remaining
    assert remaining is not None
    assert timedelta(days=2) - MINUTE < remaining <= timedelta(days=2)
    assert view.next[0].actor is Role.OPS
    assert view.next[0].actions == [Action.RESOLVE_DISPUTE, Action.OPS_CANCEL]
    assert told(stack, order_id, "dispute_opened") == {CLIENT.id, CREATOR.id, "ops"}
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id) == ("open_dispute", CREATOR.id)
    assert "the brief changed" in (entry.reason or "")
    # The parties wait for ops.
    message = await refused(
        stack, order_id, Action.SUBMIT_SCRIPT, CREATOR, "InvalidState", text="a script"
    )
    assert "in dispute" in message
    await refused(stack, order_id, Action.OPEN_DISPUTE, CLIENT, "InvalidState", reason="again")
    await refused(
        stack,
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        "InvalidState",
        resolution="accept_delivery",
        reason="nothing published",
    )

    # Days pass: nothing is overdue; after 3 d the dispute is escalated again.
    await time_skipping_env.sleep(3 * DAY + HOUR)
    view = await until(stack, order_id, "escalated", lambda v: v.escalated)
    assert view.dispute is not None
    assert view.dispute.escalated
    assert not view.overdue
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_role) == ("escalate", "system")
    assert "rule X3" in (entry.reason or "")
    assert told(stack, order_id, "dispute_escalated") == {CLIENT.id, CREATOR.id, "ops"}
    # It still waits for ops by a date (D1): escalated again 3 d later if still unresolved.
    again = next(d for d in view.deadlines if d.kind is K.DISPUTE)
    assert (again.party, again.due_at) == (Role.OPS, entry.at + timedelta(days=3))
    await time_skipping_env.sleep(5 * DAY)
    assert "overdue" not in actions(stack, order_id)
    assert actions(stack, order_id).count("escalate") == 2

    view = await stack.act(
        order_id, Action.RESOLVE_DISPUTE, OPS, resolution="continue", reason="go on as briefed"
    )
    assert (view.disputed, view.escalated, view.status) == (False, False, S.SCRIPT_PENDING)
    script = next(d for d in view.deadlines if d.kind is K.SCRIPT)
    assert script.paused_remaining is None
    resumed_at = last(stack, order_id).at
    assert script.due_at == resumed_at + remaining
    assert told(stack, order_id, "dispute_resolved") == {CLIENT.id, CREATOR.id}
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id) == ("resolve_dispute", OPS.id)
    assert "go on as briefed" in (entry.reason or "")
    # The time left runs on: overdue two days later, as before the dispute.
    await time_skipping_env.sleep(remaining + HOUR)
    await until(stack, order_id, "overdue", lambda v: v.overdue)


async def test_ops_continue_a_dispute_with_a_new_deadline(stack: Stack) -> None:
    # rules X3 D5 D4
    order_id = await accepted(stack)
    await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="silent creator")
    due = (await stack.view(order_id)).placed_at + 20 * DAY
    view = await stack.act(
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        resolution="continue",
        reason="a new date agreed",
        due_at=due,
    )
    script = next(d for d in view.deadlines if d.kind is K.SCRIPT)
    assert (script.due_at, script.paused_remaining) == (due, None)
    assert f"the script deadline is now {due.isoformat()}" in (last(stack, order_id).reason or "")
    for wrong in ({"refund_fen": 5}, {"due_at": due}):
        await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="again")
        resolution = "continue" if "refund_fen" in wrong else "cancel"
        await refused(
            stack,
            order_id,
            Action.RESOLVE_DISPUTE,
            OPS,
            "InvalidInput",
            resolution=resolution,
            reason="mixed up",
            **wrong,
        )
        await stack.act(order_id, Action.RESOLVE_DISPUTE, OPS, resolution="continue", reason="ok")


async def test_ops_resolve_a_dispute_by_cancelling_with_a_partial_refund(stack: Stack) -> None:
    # rules X3 X4 O12
    order_id = await accepted(stack)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="Draft")
    await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="the script ignores the brief")
    view = await stack.act(
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        resolution="cancel",
        refund_fen=ODD_REFUND,
        reason="half the work was done",
    )
    assert (view.status, view.disputed) == (S.CANCELLED, False)
    assert (await stack.handle(order_id).result()).status is S.CANCELLED
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id, entry.to_status) == (
        "resolve_dispute",
        OPS.id,
        "cancelled",
    )
    assert told(stack, order_id, "cancelled") == {CLIENT.id, CREATOR.id}
    assert_split(stack, order_id, ODD_REFUND)


async def test_ops_resolve_a_dispute_by_accepting_the_delivery_and_retention_follows(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules X3 O8 O9
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    await stack.act(order_id, Action.OPEN_DISPUTE, CREATOR, reason="the client will not accept")
    # No auto-accept while disputed. (Half a day off the daily video check: the test server
    # fails a workflow task that completes an update while a timer fires.)
    await time_skipping_env.sleep(8 * DAY + DAY / 2)
    assert (await stack.view(order_id)).status is S.PUBLISHED
    view = await stack.act(
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        resolution="accept_delivery",
        reason="the video meets the brief",
    )
    assert (view.status, view.disputed) == (S.IN_RETENTION, False)
    money = stack.balances(order_id)
    assert money[ledger.creator_account(CREATOR.id)] == PRICE
    assert money[ledger.PLATFORM_FEES] == stack.fee
    assert told(stack, order_id, "dispute_resolved") == {CLIENT.id, CREATOR.id}
    await time_skipping_env.sleep(31 * DAY)
    assert (await stack.handle(order_id).result()).status is S.COMPLETED
    assert ledger.transfer_count(stack.engine, order_id, "release") == 1


@pytest.mark.parametrize("offset", [-MINUTE, timedelta(0), MINUTE])
async def test_a_dispute_opened_while_an_auto_confirm_fires_has_exactly_one_outcome(
    stack: Stack, time_skipping_env: WorkflowEnvironment, offset: timedelta
) -> None:
    # rules X3 D5 D2
    order_id = await accepted(stack)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="Draft")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    await time_skipping_env.sleep(3 * DAY + offset)
    view = await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="not what we agreed")
    assert view.disputed
    done = actions(stack, order_id)
    if "auto_confirm_script" in done:
        # The confirmation came first; the dispute holds the video phase that followed.
        assert offset >= timedelta(0)
        assert done.index("auto_confirm_script") < done.index("open_dispute")
        assert view.status is S.VIDEO_PENDING
        paused = K.VIDEO
    else:
        assert offset <= timedelta(0)
        assert view.status is S.SCRIPT_AWAITING_CLIENT
        paused = K.SCRIPT_CONFIRM
    assert next(d for d in view.deadlines if d.kind is paused).paused_remaining is not None
    await time_skipping_env.sleep(10 * DAY)
    done = actions(stack, order_id)
    assert done.count("auto_confirm_script") <= 1
    # Nothing but the dispute's escalation, again every 3 d while ops leave it (X3).
    assert done[done.index("open_dispute") + 1 :] == ["escalate"] * 3


# ---------------------------------------------------------------- P2: ops


PATH: list[tuple[OrderStatus, Action, Actor, dict[str, Any]]] = [
    (S.AWAITING_ACCEPTANCE, Action.ACCEPT, CREATOR, {}),
    (S.SCRIPT_PENDING, Action.SUBMIT_SCRIPT, CREATOR, {"text": "Draft"}),
    (S.SCRIPT_IN_REVIEW, Action.REVIEW_SCRIPT, REVIEWER, {"approve": True}),
    (S.SCRIPT_AWAITING_CLIENT, Action.CONFIRM_SCRIPT, CLIENT, {}),
    (S.VIDEO_PENDING, Action.SUBMIT_VIDEO, CREATOR, {"video_id": "v-p2"}),
    (S.VIDEO_IN_REVIEW, Action.REVIEW_VIDEO, REVIEWER, {"approve": True}),
    (S.VIDEO_AWAITING_CLIENT, Action.CONFIRM_VIDEO, CLIENT, {}),
    (S.AWAITING_PUBLISH, Action.PUBLISH, CLIENT, {}),
    (S.PUBLISHED, Action.ACCEPT_DELIVERY, CLIENT, {}),
    (S.IN_RETENTION, Action.ACCEPT_DELIVERY, CLIENT, {}),
]


async def order_at(stack: Stack, status: OrderStatus) -> str:
    order_id = (await stack.place()).terms.order_id
    for at, action, actor, fields in PATH:
        if at is status:
            return order_id
        await stack.act(order_id, action, actor, **fields)
    raise AssertionError(status)


@pytest.mark.parametrize("status", [at for at, *_ in PATH])
async def test_ops_cancel_with_a_full_refund_in_every_status_before_delivery(
    stack: Stack, status: OrderStatus
) -> None:
    # rules P2 A1 A3 A4
    order_id = await order_at(stack, status)
    # No dispute to resolve, in any status.
    message = await refused(
        stack,
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        "InvalidState",
        resolution="continue",
        reason="x",
    )
    assert f"it is {status}" in message
    if status is S.IN_RETENTION:
        message = await refused(
            stack, order_id, Action.OPS_CANCEL, OPS, "InvalidState", reason="too late"
        )
        assert "it is in_retention" in message
        return
    view = await stack.act(order_id, Action.OPS_CANCEL, OPS, reason="fraud report")
    assert view.status is S.CANCELLED
    entry = last(stack, order_id)
    assert (entry.action, entry.actor_id, entry.actor_role, entry.reason) == (
        "ops_cancel",
        OPS.id,
        "ops",
        "fraud report",
    )
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert money[ledger.escrow_account(order_id)] == 0
    assert ledger.transfer_count(stack.engine, order_id, "refund") == 1
    # Over: ops can do nothing more with it.
    await refused(stack, order_id, Action.OPS_CANCEL, OPS, "InvalidState", reason="again")


async def test_ops_cancel_a_disputed_order(stack: Stack) -> None:
    # rules P2 X3
    order_id = await accepted(stack)
    await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="no answer")
    view = await stack.act(order_id, Action.OPS_CANCEL, OPS, reason="the creator left")
    assert (view.status, view.disputed) == (S.CANCELLED, False)
    assert stack.balances(order_id)[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS


async def test_a_dispute_withdraws_an_open_extension_request(stack: Stack) -> None:
    # rules X3 D4 D5: the date it asked for would be wrong once the pause ends
    order_id = await accepted(stack)
    due = (await stack.view(order_id)).deadlines[0].due_at
    await stack.act(
        order_id, Action.REQUEST_EXTENSION, CREATOR, due_at=due + DAY, reason="ill this week"
    )
    view = await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="no contact")
    assert view.extension is None
    assert "extension request is withdrawn" in (last(stack, order_id).reason or "")
    assert K.EXTENSION not in {d.kind for d in view.deadlines}

    view = await stack.act(
        order_id, Action.RESOLVE_DISPUTE, OPS, resolution="continue", reason="talk it over"
    )
    assert view.status is S.SCRIPT_PENDING
    # The script deadline runs on with the time it had left, and the creator may ask again.
    assert [d.kind for d in view.deadlines if d.paused_remaining is None] == [K.SCRIPT]
    assert view.deadlines[0].due_at >= due
    await stack.act(
        order_id,
        Action.REQUEST_EXTENSION,
        CREATOR,
        due_at=view.deadlines[0].due_at + DAY,
        reason="still ill",
    )


async def test_ops_accept_a_disputed_delivery_only_once_its_republished_video_is_reviewed(
    stack: Stack,
) -> None:
    # rules X3 O10: the dispute's way to accept is the client's, with its checks
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-second")
    await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="the new title misleads")
    message = await refused(
        stack,
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        "InvalidState",
        resolution="accept_delivery",
        reason="fine by us",
    )
    assert "post-publication review" in message


async def test_accepting_the_delivery_ends_an_open_proposal_and_its_proposer_is_told(
    stack: Stack,
) -> None:
    # rules X1 A4 N1
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CREATOR, refund_fen=5, reason="ill")
    view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert (view.status, view.proposal) == (S.IN_RETENTION, None)
    assert "cancellation proposal lapses" in (last(stack, order_id).reason or "")
    # The creator, paid, is told in the same notification (one per recipient and transition).
    [paid] = [n for n in orders.notifications_for(stack.engine, order_id) if n["kind"] == "paid"]
    assert paid["recipient"] == CREATOR.id
    assert "cancellation proposal lapses" in paid["body"]
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE

    # Proposed by the client, who is not otherwise told: its own notice.
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-2")
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=5, reason="late")
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert told(stack, order_id, "cancellation_lapsed") == {CLIENT.id}
