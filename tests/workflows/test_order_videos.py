"""Which videos an order takes: one order per video, only the creator's own, and a republished
video reviewed after it goes public (O5, O10), on the time-skipping test server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from services import creators
from services.orders import OrderError
from tests.stack import CLIENT, CREATOR, MCN_CREATOR, PRICE, REVIEWER, Stack, eventually
from workflows.messages import Action, OrderStatus, OrderView

S = OrderStatus
DAY = timedelta(days=1)


async def refused(stack: Stack, order_id: str, action: Action, **fields: Any) -> OrderError:
    """The action is refused, and the order's view and money stay as they were."""
    before, money = await stack.view(order_id), stack.balances(order_id)
    with pytest.raises(OrderError) as error:
        await stack.act(order_id, action, CREATOR, **fields)
    assert await stack.view(order_id) == before
    assert stack.balances(order_id) == money
    return error.value


async def video_pending(stack: Stack) -> str:
    order_id = (await stack.place(skip_script=True)).terms.order_id
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    return order_id


def someone_elses_video(stack: Stack, video_id: str) -> None:
    """A video another creator uploaded to its own Xigua account."""
    account = creators.profile(stack.engine, MCN_CREATOR.id).xigua_account_id
    stack.platform.upload(video_id, account)


async def test_a_video_linked_to_one_order_is_refused_for_another(stack: Stack) -> None:
    # rules O5 A2
    first = await video_pending(stack)
    await stack.act(first, Action.SUBMIT_VIDEO, CREATOR, video_id="v-sold-once")
    second = await video_pending(stack)

    error = await refused(stack, second, Action.SUBMIT_VIDEO, video_id="v-sold-once")
    assert error.kind == "VideoLinkedElsewhere"
    assert "already linked to another order" in error.message
    assert first not in error.message  # the other order is not this client's business
    assert (await stack.view(second)).status is S.VIDEO_PENDING

    # Linking to its own order again is no second sale: a revision under the same id goes through.
    await stack.act(first, Action.REVIEW_VIDEO, REVIEWER, approve=False, reason="too dark")
    view = await stack.act(first, Action.SUBMIT_VIDEO, CREATOR, video_id="v-sold-once")
    assert view.status is S.VIDEO_IN_REVIEW
    assert [v.video_id for v in view.videos] == ["v-sold-once", "v-sold-once"]


async def test_republishing_a_video_of_another_order_is_refused(stack: Stack) -> None:
    # rule O10
    other = (await stack.place()).terms.order_id
    await stack.to_published(other, video_id="v-other-order")
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-mine")

    error = await refused(stack, order_id, Action.REPUBLISH, video_id="v-other-order")
    assert error.kind == "VideoLinkedElsewhere"
    assert (await stack.view(order_id)).publications[-1].video_id == "v-mine"


async def test_republishing_a_video_on_another_creators_account_is_refused(stack: Stack) -> None:
    # rule O10
    someone_elses_video(stack, "v-stranger")
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-mine")

    error = await refused(stack, order_id, Action.REPUBLISH, video_id="v-stranger")
    assert error.kind == "VideoNotFound"
    assert "is not on Xigua account" in error.message
    assert stack.platform.is_public("v-stranger") is False  # never published on our say-so


async def republished(stack: Stack, video_id: str = "v-second") -> tuple[str, OrderView]:
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-first")
    return order_id, await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id=video_id)


async def test_a_republished_video_awaits_its_review_and_blocks_acceptance(stack: Stack) -> None:
    # rules O10 A1
    order_id, view = await republished(stack)
    publication = view.publications[-1]
    assert (publication.video_id, publication.review_required, publication.reviews) == (
        "v-second",
        True,
        [],
    )
    assert view.next[0].actor.value == "reviewer"
    assert view.next[0].actions == [Action.REVIEW_PUBLICATION]
    queue = orders.review_queue(stack.engine, "publication", 10)
    assert [row.id for row in queue] == [order_id]

    with pytest.raises(OrderError) as early:
        await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert early.value.kind == "InvalidState"
    assert "awaiting review" in early.value.message

    view = await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)
    assert view.publications[-1].reviews[0].approved is True
    assert orders.review_queue(stack.engine, "publication", 10) == []
    view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert view.status is S.IN_RETENTION
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE


async def test_a_rejected_republication_is_taken_down_as_a_removal_and_may_be_republished(
    stack: Stack,
) -> None:
    # rules O10 A3 A4
    order_id, _ = await republished(stack)
    with pytest.raises(OrderError) as no_reason:
        await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=False)
    assert no_reason.value.kind == "InvalidInput"

    view = await stack.act(
        order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=False, reason="logo hidden"
    )
    assert view.status is S.PUBLISHED
    assert view.video_public is False
    assert stack.platform.is_public("v-second") is False
    review, removal = orders.timeline(stack.engine, order_id)[-2:]
    assert (review.action, review.actor_id, review.reason) == (
        "review_publication",
        REVIEWER.id,
        "logo hidden",
    )
    assert (removal.action, removal.actor_role, removal.to_status) == (
        "video_removed",
        "system",
        "published",
    )
    assert "logo hidden" in (removal.reason or "")
    told = {(n["recipient"], n["kind"]) for n in orders.notifications_for(stack.engine, order_id)}
    assert {(CREATOR.id, "publication_rejected"), (CLIENT.id, "publication_rejected")} <= told
    assert orders.review_queue(stack.engine, "publication", 10) == []

    view = await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-third")
    assert view.publications[-1].awaiting_review
    await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)
    with pytest.raises(OrderError) as twice:
        await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)
    assert twice.value.kind == "InvalidState"  # one review per publication
    view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    assert view.status is S.IN_RETENTION
    money = stack.balances(order_id)
    assert money[ledger.creator_account(CREATOR.id)] == PRICE
    assert money[ledger.escrow_account(order_id)] == 0
    assert ledger.transfer_count(stack.engine, order_id, "release") == 1


async def test_a_republished_video_is_accepted_automatically_only_after_its_review(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rules O7 O10
    order_id, view = await republished(stack)
    republished_at = view.publications[-1].published_at
    # Away from the daily check: the time-skipping server mishandles an update that lands
    # while the check it just fired runs.
    await time_skipping_env.sleep(8 * DAY - timedelta(hours=12))
    assert (await stack.view(order_id)).status is S.PUBLISHED
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == 0

    await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)

    async def accepted() -> bool:
        return (await stack.view(order_id)).status is S.IN_RETENTION

    await eventually(accepted, "the order is accepted once the review passed")
    last = orders.timeline(stack.engine, order_id)[-1]
    assert (last.action, last.actor_role) == ("auto_accept", "system")
    assert (await stack.view(order_id)).retention_ends_at == republished_at + 30 * DAY
    assert stack.balances(order_id)[ledger.creator_account(CREATOR.id)] == PRICE
