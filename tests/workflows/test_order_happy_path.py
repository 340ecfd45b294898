"""The whole lifecycle of one order, on the time-skipping test server."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from tests.stack import (
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    MCN,
    MCN_CREATOR,
    PRICE,
    Stack,
)
from workflows.messages import Action, OrderStatus, Role

S = OrderStatus


async def test_placing_an_order_freezes_price_and_fee_in_escrow(stack: Stack) -> None:
    # rule O1
    view = await stack.place()
    order_id = view.terms.order_id
    assert view.status is S.AWAITING_ACCEPTANCE
    assert view.terms.price_fen == PRICE
    assert view.terms.fee_fen == PRICE * 5 // 100
    money = stack.balances(order_id)
    assert money[ledger.escrow_account(order_id)] == PRICE + stack.fee
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS - PRICE - stack.fee
    # The creator must act next, within 24 h, or the order is cancelled.
    first = view.next[0]
    assert first.actor is Role.CREATOR
    assert first.actions == [Action.ACCEPT, Action.DECLINE]
    assert first.deadline == view.placed_at + timedelta(hours=24)
    assert "cancelled" in (first.at_deadline or "")


async def test_whole_order_pays_the_creator_and_completes_after_retention(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O1 O4 O5 O6 O7 O8 O9 O12 A4
    order_id = (await stack.place()).terms.order_id
    view = await stack.to_published(order_id)
    assert view.status is S.PUBLISHED
    assert view.publications[0].video_id == "v-1"

    view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert view.status is S.IN_RETENTION
    money = stack.balances(order_id)
    assert money[ledger.creator_account(CREATOR.id)] == PRICE
    assert money[ledger.PLATFORM_FEES] == stack.fee
    assert money[ledger.escrow_account(order_id)] == 0

    await time_skipping_env.sleep(timedelta(days=30, hours=1))
    result = await stack.handle(order_id).result()
    assert result.status is S.COMPLETED

    steps = [(e.action, e.to_status) for e in orders.timeline(stack.engine, order_id)]
    assert steps == [
        ("place", "awaiting_acceptance"),
        ("accept", "script_pending"),
        ("submit_script", "script_in_review"),
        ("review_script", "script_awaiting_client"),
        ("confirm_script", "video_pending"),
        ("submit_video", "video_in_review"),
        ("review_video", "video_awaiting_client"),
        ("confirm_video", "awaiting_publish"),
        ("publish", "published"),
        ("accept_delivery", "in_retention"),
        ("retention_ended", "completed"),
    ]
    row = orders.order_row(stack.engine, order_id)
    assert row is not None
    assert row["status"] == "completed"
    assert ledger.transfer_count(stack.engine, order_id, "release") == 1


async def test_mcn_creator_earnings_go_to_the_mcn(stack: Stack) -> None:
    # rule O8
    order_id = (await stack.place(creator=MCN_CREATOR)).terms.order_id
    await stack.to_published(order_id, creator=MCN_CREATOR)
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    money = stack.balances(order_id)
    assert money[ledger.mcn_account(MCN.id)] == PRICE
    assert money[ledger.creator_account(MCN_CREATOR.id)] == 0
    assert money[ledger.PLATFORM_FEES] == stack.fee


async def test_skip_script_goes_straight_to_the_video(stack: Stack) -> None:
    # rule O4
    order_id = (await stack.place(skip_script=True)).terms.order_id
    view = await stack.act(order_id, Action.ACCEPT, CREATOR)
    assert view.status is S.VIDEO_PENDING
    assert view.next[0].actor is Role.CREATOR
    # The creator may also ask for more time (rule D4), or leave the order (X1, X3).
    assert view.next[0].actions == [
        Action.SUBMIT_VIDEO,
        Action.REQUEST_EXTENSION,
        Action.PROPOSE_CANCELLATION,
        Action.OPEN_DISPUTE,
    ]
    view = await stack.to_published(order_id)
    assert view.scripts == []
    assert view.status is S.PUBLISHED


async def test_reviewer_is_asked_next_while_a_script_waits_for_review(stack: Stack) -> None:
    # rule O4
    order_id = (await stack.place()).terms.order_id
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    view = await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="Draft 1")
    assert view.status is S.SCRIPT_IN_REVIEW
    # The reviewer first; the parties may only leave the order meanwhile (X1, X3).
    ways_out = [Action.PROPOSE_CANCELLATION, Action.OPEN_DISPUTE]
    assert [(n.actor, n.actions) for n in view.next] == [
        (Role.REVIEWER, [Action.REVIEW_SCRIPT]),
        (Role.CLIENT, ways_out),
        (Role.CREATOR, ways_out),
    ]
    assert view.scripts[0].text == "Draft 1"
