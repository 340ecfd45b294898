"""Every timer of the lifecycle, driven by skipping time on the test server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from services.orders import OrderError
from tests.stack import (
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    PRICE,
    REVIEWER,
    Stack,
    eventually,
    running_stack,
)
from workflows.messages import Action, OrderStatus, OrderTerms

S = OrderStatus
DAY = timedelta(days=1)


async def wait_for_status(stack: Stack, order_id: str, status: OrderStatus) -> None:
    async def reached() -> bool:
        return (await stack.view(order_id)).status is status

    await eventually(reached, f"order {order_id} reaches {status}")


async def test_order_auto_cancels_after_24h_without_accept_and_refunds_in_full(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O2 O12 A3
    order_id = (await stack.place()).terms.order_id
    await time_skipping_env.sleep(timedelta(hours=23))
    assert (await stack.view(order_id)).status is S.AWAITING_ACCEPTANCE

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    result = await stack.handle(order_id).result()
    assert result.status is S.CANCELLED
    money = stack.balances(order_id)
    assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
    assert money[ledger.escrow_account(order_id)] == 0
    last = orders.timeline(stack.engine, order_id)[-1]
    assert (last.action, last.actor_role, last.to_status) == ("auto_cancel", "system", "cancelled")
    assert "not accepted within" in (last.reason or "")


async def test_order_auto_accepts_7_days_after_publishing_and_pays_the_creator(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O7 O8
    order_id = (await stack.place()).terms.order_id
    view = await stack.to_published(order_id)
    published_at = view.publications[-1].published_at
    assert view.next[0].deadline == published_at + 7 * DAY
    assert "accepted automatically" in (view.next[0].at_deadline or "")

    await time_skipping_env.sleep(6 * DAY)
    assert (await stack.view(order_id)).status is S.PUBLISHED
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == 0

    await time_skipping_env.sleep(DAY + timedelta(hours=1))
    await wait_for_status(stack, order_id, S.IN_RETENTION)
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE
    accepted = orders.timeline(stack.engine, order_id)[-1]
    assert (accepted.action, accepted.actor_role) == ("auto_accept", "system")


async def test_retention_period_set_by_the_client_is_honoured(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O1 O9 O12
    order_id = (await stack.place(retention_days=45)).terms.order_id
    await stack.to_published(order_id)
    view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert view.retention_ends_at == view.publications[-1].published_at + 45 * DAY

    await time_skipping_env.sleep(31 * DAY)
    assert (await stack.view(order_id)).status is S.IN_RETENTION
    await time_skipping_env.sleep(15 * DAY)
    assert (await stack.handle(order_id).result()).status is S.COMPLETED


async def test_video_removed_on_day_10_is_a_retention_violation(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O9 O12
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-10")
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    # Midway through day 10, away from the daily check: the time-skipping server mishandles a
    # signal that lands while the check it just fired is still running (the real server does not).
    await time_skipping_env.sleep(10 * DAY + timedelta(hours=12))

    stack.platform.remove("v-10")
    await stack.service.video_removed(order_id, "v-10", "deleted by the creator on day 10")
    # Wait by query, not by result(): while a client awaits a result the time-skipping server
    # skips time, and firing the pending check timer during this workflow task trips it.
    await wait_for_status(stack, order_id, S.COMPLETED_WITH_VIOLATION)
    result = await stack.handle(order_id).result()
    assert result.status is S.COMPLETED_WITH_VIOLATION
    assert result.violation == "deleted by the creator on day 10"
    told = {(n["recipient"], n["kind"]) for n in orders.notifications_for(stack.engine, order_id)}
    assert {(CLIENT.id, "retention_violation"), ("ops", "retention_violation")} <= told
    # The creator was paid at acceptance; the violation does not move money back.
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE


async def test_periodic_check_finds_a_removed_video_without_a_signal(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule O9
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-quiet")
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await time_skipping_env.sleep(10 * DAY)
    assert (await stack.view(order_id)).status is S.IN_RETENTION

    stack.platform.remove("v-quiet")  # the platform never tells us
    await time_skipping_env.sleep(stack.timings.video_check_every + timedelta(minutes=1))
    result = await stack.handle(order_id).result()
    assert result.status is S.COMPLETED_WITH_VIOLATION
    assert "periodic check" in (result.violation or "")


async def test_republish_before_acceptance_restarts_the_7_day_countdown(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule O10
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-first")
    # Midway through day 5, away from the daily check: the time-skipping server mishandles a
    # signal that lands while the check it just fired runs (see the violation test below).
    await time_skipping_env.sleep(5 * DAY - timedelta(hours=12))

    # The creator deletes the video to fix its title: allowed before acceptance.
    stack.platform.remove("v-first")
    await stack.service.video_removed(order_id, "v-first", "deleted by the creator")
    await eventually(lambda: _video_public_is(stack, order_id, False), "the removal is recorded")
    view = await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-second")
    assert view.status is S.PUBLISHED
    assert view.video_public is True
    republished_at = view.publications[-1].published_at
    view = await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)
    assert view.next[0].deadline == republished_at + 7 * DAY

    await time_skipping_env.sleep(3 * DAY)  # past 7 days after the first publication
    assert (await stack.view(order_id)).status is S.PUBLISHED

    await time_skipping_env.sleep(4 * DAY + timedelta(hours=1))  # 7 days after the second
    await wait_for_status(stack, order_id, S.IN_RETENTION)
    view = await stack.view(order_id)
    assert view.retention_ends_at == republished_at + 30 * DAY


async def _video_public_is(stack: Stack, order_id: str, public: bool) -> bool:
    return (await stack.view(order_id)).video_public is public


async def test_republish_after_acceptance_is_refused(stack: Stack) -> None:
    # rule O10
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    with pytest.raises(OrderError) as refused:
        await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-late")
    assert refused.value.kind == "InvalidState"
    assert "in_retention" in refused.value.message


async def test_client_accept_just_before_the_timer_pays_once(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O7 A2 A3
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    await time_skipping_env.sleep(7 * DAY - timedelta(minutes=1))
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await time_skipping_env.sleep(timedelta(hours=1))

    assert ledger.transfer_count(stack.engine, order_id, "release") == 1
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE
    actions = [e.action for e in orders.timeline(stack.engine, order_id)]
    assert "accept_delivery" in actions
    assert "auto_accept" not in actions


async def test_client_accept_just_after_the_timer_is_refused_and_pays_once(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O7 A1 A2 A3
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id)
    await time_skipping_env.sleep(7 * DAY + timedelta(minutes=1))
    await wait_for_status(stack, order_id, S.IN_RETENTION)
    with pytest.raises(OrderError) as late:
        await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert late.value.kind == "InvalidState"

    assert ledger.transfer_count(stack.engine, order_id, "release") == 1
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE


async def test_retried_settlement_moves_the_money_once(
    time_skipping_env: WorkflowEnvironment, sqlite_engine: object
) -> None:
    # rules O8 A2 A3
    from sqlalchemy import Engine

    from activities.ledger import LedgerActivities

    assert isinstance(sqlite_engine, Engine)
    real = LedgerActivities(sqlite_engine)
    attempts: list[int] = []

    @activity.defn(name="release_escrow")
    def release_then_crash_once(terms: OrderTerms) -> None:
        # The transfer commits, then the worker "dies" before reporting success.
        real.release(terms)
        attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise RuntimeError("worker lost after the transfer committed")

    async with running_stack(
        time_skipping_env.client,
        sqlite_engine,
        replace_activities={"release_escrow": release_then_crash_once},
    ) as stack:
        order_id = (await stack.place()).terms.order_id
        await stack.to_published(order_id)
        view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)

        assert view.status is S.IN_RETENTION
        assert attempts == [1, 2]
        assert ledger.transfer_count(stack.engine, order_id, "release") == 1
        assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE
