"""Who may do what, when: cancellations, review loops, invalid and repeated actions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from db import ledger, orders
from services.creators import set_quote
from services.orders import OrderError, OrderService, PlaceOrder
from tests.stack import (
    BRIEF,
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    MCN,
    OTHER_CLIENT,
    OTHER_CREATOR,
    PRICE,
    REVIEWER,
    Stack,
)
from workflows.actions import ACTIONS
from workflows.messages import Action, Actor, OrderStatus, Role

S = OrderStatus

# An actor of the right role for every action, so that only the state can be at fault.
OPS = Actor(id="ops-1", role=Role.OPS)
ACTOR_FOR: dict[Action, Actor] = {
    action: {Role.CLIENT: CLIENT, Role.CREATOR: CREATOR, Role.REVIEWER: REVIEWER, Role.OPS: OPS}[
        spec.roles[0]
    ]
    for action, spec in ACTIONS.items()
}
LATER = datetime(2030, 1, 1, tzinfo=UTC)
FIELDS: dict[Action, dict[str, Any]] = {
    Action.DECLINE: {"reason": "fully booked"},
    Action.CANCEL: {"reason": "changed plans"},
    Action.SUBMIT_SCRIPT: {"text": "A script"},
    Action.REVIEW_SCRIPT: {"approve": True},
    Action.REJECT_SCRIPT: {"reason": "too long"},
    Action.SUBMIT_VIDEO: {"video_id": "v-x"},
    Action.REVIEW_VIDEO: {"approve": True},
    Action.REJECT_VIDEO: {"reason": "too dark"},
    Action.REPUBLISH: {"video_id": "v-y"},
    Action.REVIEW_PUBLICATION: {"approve": True},
    Action.CANCEL_OVERDUE: {"reason": "too late"},
    Action.REQUEST_EXTENSION: {"due_at": LATER, "reason": "ill"},
    Action.ANSWER_EXTENSION: {"grant": True},
    Action.MOVE_DEADLINE: {"due_at": LATER, "reason": "ops"},
    Action.PROPOSE_CANCELLATION: {"refund_fen": 0, "reason": "let us stop"},
    Action.ANSWER_CANCELLATION: {"agree": True},
    Action.OPEN_DISPUTE: {"reason": "unfair"},
    Action.RESOLVE_DISPUTE: {"resolution": "continue", "reason": "ops"},
    Action.OPS_CANCEL: {"reason": "fraud"},
}


async def act(stack: Stack, order_id: str, action: Action, actor: Actor | None = None) -> object:
    return await stack.act(order_id, action, actor or ACTOR_FOR[action], **FIELDS.get(action, {}))


# Each step takes an order from the status before it to the next one.
PATH: list[tuple[OrderStatus, Action]] = [
    (S.AWAITING_ACCEPTANCE, Action.ACCEPT),
    (S.SCRIPT_PENDING, Action.SUBMIT_SCRIPT),
    (S.SCRIPT_IN_REVIEW, Action.REVIEW_SCRIPT),
    (S.SCRIPT_AWAITING_CLIENT, Action.CONFIRM_SCRIPT),
    (S.VIDEO_PENDING, Action.SUBMIT_VIDEO),
    (S.VIDEO_IN_REVIEW, Action.REVIEW_VIDEO),
    (S.VIDEO_AWAITING_CLIENT, Action.CONFIRM_VIDEO),
    (S.AWAITING_PUBLISH, Action.PUBLISH),
    (S.PUBLISHED, Action.ACCEPT_DELIVERY),
    (S.IN_RETENTION, Action.ACCEPT_DELIVERY),
]


async def order_at(stack: Stack, status: OrderStatus) -> str:
    order_id = (await stack.place()).terms.order_id
    for at, action in PATH:
        if at is status:
            return order_id
        await act(stack, order_id, action)
    raise AssertionError(status)


async def assert_refused(
    stack: Stack, order_id: str, attempt: Callable[[], Awaitable[object]], kind: str
) -> OrderError:
    """The action fails with `kind`, and leaves the order, its history and the money alone."""
    before = (await stack.view(order_id), await stack.history_length(order_id))
    money = stack.balances(order_id)
    with pytest.raises(OrderError) as refused:
        await attempt()
    assert refused.value.kind == kind, refused.value.message
    assert (await stack.view(order_id), await stack.history_length(order_id)) == before
    assert stack.balances(order_id) == money
    return refused.value


@pytest.mark.parametrize("status", [at for at, _ in PATH])
async def test_actions_not_allowed_in_a_status_change_nothing(
    stack: Stack, status: OrderStatus
) -> None:
    # rule A1
    order_id = await order_at(stack, status)
    allowed = {a for a, spec in ACTIONS.items() if status in spec.statuses}
    for action in Action:
        if action not in ACTOR_FOR or action in allowed:
            continue
        error = await assert_refused(
            stack, order_id, partial(act, stack, order_id, action), "InvalidState"
        )
        assert f"it is {status}" in error.message
        # What the order allows now: in `published`, its current publication narrows ALLOWED.
        for step in (await stack.view(order_id)).next:
            for allowed_action in step.actions:
                assert allowed_action.value in error.message


async def test_wrong_actor_is_refused_without_a_trace(stack: Stack) -> None:
    # rule A1
    order_id = (await stack.place()).terms.order_id
    refused = await assert_refused(
        stack, order_id, lambda: act(stack, order_id, Action.ACCEPT, CLIENT), "Forbidden"
    )
    assert "only the creator may accept" in refused.message
    for stranger in (OTHER_CLIENT, OTHER_CREATOR):
        refused = await assert_refused(
            stack, order_id, partial(act, stack, order_id, Action.CANCEL, stranger), "NotFound"
        )
        # Someone else's order: the stranger cannot even learn that it exists.
        assert refused.message == f"order {order_id} not found"
    # Roles with no action at all are refused before the status is checked, so the answer
    # does not tell them the order's status either (publishing is not allowed yet).
    refused = await assert_refused(
        stack, order_id, partial(act, stack, order_id, Action.PUBLISH, MCN), "Forbidden"
    )
    assert refused.message == "the mcn role takes no action on orders"
    # Ops act on every order (P2, D4: moving a deadline), but not in a party's place.
    refused = await assert_refused(
        stack, order_id, partial(act, stack, order_id, Action.ACCEPT, OPS), "Forbidden"
    )
    assert "only the creator may accept" in refused.message


async def test_creator_declines_and_client_is_refunded(stack: Stack) -> None:
    # rules O2 O12
    order_id = (await stack.place()).terms.order_id
    view = await stack.act(order_id, Action.DECLINE, CREATOR, reason="fully booked this month")
    assert view.status is S.CANCELLED
    assert (await stack.handle(order_id).result()).status is S.CANCELLED
    assert stack.balances(order_id)[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    last = orders.timeline(stack.engine, order_id)[-1]
    assert (last.action, last.actor_id, last.reason) == (
        "decline",
        CREATOR.id,
        "fully booked this month",
    )


async def test_client_cancels_before_acceptance_and_is_refunded(stack: Stack) -> None:
    # rules O2 O12
    order_id = (await stack.place()).terms.order_id
    view = await stack.act(order_id, Action.CANCEL, CLIENT, reason="campaign moved")
    assert view.status is S.CANCELLED
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert money[ledger.escrow_account(order_id)] == 0
    assert ledger.transfer_count(stack.engine, order_id, "refund") == 1


async def test_client_cannot_cancel_after_acceptance(stack: Stack) -> None:
    # rule O2
    order_id = await order_at(stack, S.SCRIPT_PENDING)
    await assert_refused(
        stack, order_id, lambda: act(stack, order_id, Action.CANCEL), "InvalidState"
    )


async def test_actions_on_a_finished_order_say_it_is_over(stack: Stack) -> None:
    # rules A1 O12
    order_id = (await stack.place()).terms.order_id
    await act(stack, order_id, Action.CANCEL)
    await stack.handle(order_id).result()
    with pytest.raises(OrderError) as refused:
        await act(stack, order_id, Action.ACCEPT)
    assert refused.value.kind == "InvalidState"
    assert "cancelled" in refused.value.message


async def test_order_without_enough_balance_is_refused_and_nothing_is_frozen(
    stack: Stack,
) -> None:
    # rule O1
    set_quote(stack.engine, CREATOR.id, CLIENT_FUNDS)  # price + fee > balance
    with pytest.raises(OrderError) as refused:
        await stack.place()
    assert refused.value.kind == "Refused"
    assert "insufficient balance" in refused.value.message
    order_id = stack.placed[-1]
    assert stack.balances(order_id)[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert stack.balances(order_id)[ledger.escrow_account(order_id)] == 0
    assert ledger.transfer_count(stack.engine, order_id) == 0
    row = orders.order_row(stack.engine, order_id)
    assert row is not None
    assert row["status"] == "refused"


async def test_creator_not_accepting_orders_cannot_be_ordered(stack: Stack) -> None:
    # rule C6
    with pytest.raises(OrderError) as refused:
        await stack.place(creator=OTHER_CREATOR)
    assert refused.value.kind == "NotOrderable"
    assert "not accepting orders" in refused.value.message


async def test_script_rejection_loops_back_to_a_new_upload(stack: Stack) -> None:
    # rules O4 A4
    order_id = await order_at(stack, S.SCRIPT_PENDING)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")
    view = await stack.act(
        order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=False, reason="says 第一"
    )
    assert view.status is S.SCRIPT_PENDING
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v2")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    view = await stack.act(order_id, Action.REJECT_SCRIPT, CLIENT, reason="mention the price")
    assert view.status is S.SCRIPT_PENDING
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v3")
    view = await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    assert view.status is S.SCRIPT_AWAITING_CLIENT  # the new script went through review again
    view = await stack.act(order_id, Action.CONFIRM_SCRIPT, CLIENT)
    assert view.status is S.VIDEO_PENDING

    assert [s.text for s in view.scripts] == ["v1", "v2", "v3"]
    assert [(r.approved, r.reason) for r in view.scripts[0].reviews] == [(False, "says 第一")]
    assert [(r.by.role, r.approved) for r in view.scripts[1].reviews] == [
        (Role.REVIEWER, True),
        (Role.CLIENT, False),
    ]
    reasons = [e.reason for e in orders.timeline(stack.engine, order_id) if e.reason]
    assert reasons == ["says 第一", "mention the price"]


async def test_video_rejection_loops_back_to_a_new_upload(stack: Stack) -> None:
    # rules O5 A4
    order_id = await order_at(stack, S.VIDEO_PENDING)
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-1")
    view = await stack.act(
        order_id, Action.REVIEW_VIDEO, REVIEWER, approve=False, reason="logo hidden"
    )
    assert view.status is S.VIDEO_PENDING
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-2")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    view = await stack.act(order_id, Action.REJECT_VIDEO, CLIENT, reason="too dark")
    assert view.status is S.VIDEO_PENDING
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-3")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    view = await stack.act(order_id, Action.CONFIRM_VIDEO, CLIENT)
    assert view.status is S.AWAITING_PUBLISH
    view = await stack.act(order_id, Action.PUBLISH, CLIENT)
    assert view.publications[0].video_id == "v-3"  # the confirmed one
    assert [v.video_id for v in view.videos] == ["v-1", "v-2", "v-3"]


async def test_rejection_without_a_reason_is_refused(stack: Stack) -> None:
    # rules O4 A1
    order_id = await order_at(stack, S.SCRIPT_IN_REVIEW)
    refused = await assert_refused(
        stack,
        order_id,
        lambda: stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=False),
        "InvalidInput",
    )
    assert "reason" in refused.message


async def test_resending_an_applied_action_does_not_apply_it_twice(stack: Stack) -> None:
    # rule A2
    order_id = await order_at(stack, S.PUBLISHED)
    first = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT, request_id="accept-1")
    again = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT, request_id="accept-1")
    assert again.status is first.status is S.IN_RETENTION
    assert again.delivery_accepted_at == first.delivery_accepted_at
    assert ledger.transfer_count(stack.engine, order_id, "release") == 1
    actions = [e.action for e in orders.timeline(stack.engine, order_id)]
    assert actions.count("accept_delivery") == 1
    # A new request for the same action is a new action, and the state no longer allows it.
    with pytest.raises(OrderError) as refused:
        await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT, request_id="accept-2")
    assert refused.value.kind == "InvalidState"


async def test_request_id_reused_for_another_action_is_refused(stack: Stack) -> None:
    # rule A2
    order_id = (await stack.place()).terms.order_id
    await stack.act(order_id, Action.ACCEPT, CREATOR, request_id="r-1")
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, request_id="r-2", text="x")
    with pytest.raises(OrderError) as refused:
        await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, request_id="r-1", text="y")
    assert refused.value.kind in {"RequestIdReused", "InvalidState"}


async def test_concurrent_accepts_pay_once(stack: Stack) -> None:
    # rules A2 A3
    order_id = await order_at(stack, S.PUBLISHED)
    results = await asyncio.gather(
        *(stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT) for _ in range(5)),
        return_exceptions=True,
    )
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    assert len(succeeded) == 1
    assert all(
        isinstance(r, OrderError) and r.kind == "InvalidState"
        for r in results
        if r not in succeeded
    )
    assert ledger.transfer_count(stack.engine, order_id, "release") == 1
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE


async def test_placing_the_same_order_id_twice_creates_one_order(stack: Stack) -> None:
    # rules O1 A2
    request = PlaceOrder(
        client_id=CLIENT.id, creator_id=CREATOR.id, brief=BRIEF, order_id="fixed-1"
    )
    service: OrderService = stack.service
    first, second = await asyncio.gather(service.place(request), service.place(request))
    stack.placed.append("fixed-1")
    assert first.terms == second.terms
    assert ledger.transfer_count(stack.engine, "fixed-1", "freeze") == 1
    assert stack.balances("fixed-1")[ledger.client_account(CLIENT.id)] == (
        CLIENT_FUNDS - PRICE - stack.fee
    )
    other = PlaceOrder(
        client_id=CLIENT.id,
        creator_id=CREATOR.id,
        brief=BRIEF,
        order_id="fixed-1",
        skip_script=True,
    )
    with pytest.raises(OrderError) as refused:
        await service.place(other)
    assert refused.value.kind == "Conflict"


async def test_placing_an_ended_order_again_starts_nothing(stack: Stack) -> None:
    # rules O1 A2: an ended order's ledger keys are spent; a new run would freeze nothing
    order_id = (await stack.place(order_id="ended-1")).terms.order_id
    await act(stack, order_id, Action.CANCEL)
    await stack.handle(order_id).result()
    again = await stack.place(order_id="ended-1")
    assert again.status is S.CANCELLED
    assert ledger.transfer_count(stack.engine, order_id, "freeze") == 1
    assert stack.balances(order_id)[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS


def test_every_action_of_the_table_has_its_update() -> None:
    # rule A1: an action the table allows is one the service can send
    from services.orders import UPDATES
    from workflows.actions import ACTIONS

    assert set(UPDATES) == set(ACTIONS)
    assert all(
        getattr(update, "__name__", None) == action.value for action, update in UPDATES.items()
    )
