"""Marketing data, credit and the video platform around an order, on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from services import creators, marketing
from services.orders import OrderError
from tests.stack import CLIENT, CREATOR, PRICE, Stack
from workflows.messages import Action, OrderStatus

DAY = timedelta(days=1)


async def test_video_numbers_are_recorded_daily_from_publishing_to_the_end_of_retention(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule O11
    order_id = (await stack.place()).terms.order_id
    view = await stack.to_published(order_id, video_id="v-ad")
    published_at = view.publications[0].published_at
    growth = [(1, 40_000, 900, 60, 40), (3, 60_000, 1_100, 90, 110), (10, 50_000, 600, 50, 50)]
    slept = timedelta(0)
    for day, plays, likes, comments, shares in growth:
        await time_skipping_env.sleep(day * DAY - slept - timedelta(hours=12))
        slept = day * DAY - timedelta(hours=12)
        stack.platform.add_engagement("v-ad", plays, likes, comments, shares, completion_rate=0.42)
    await time_skipping_env.sleep(31 * DAY - slept)
    assert (await stack.handle(order_id).result()).status is OrderStatus.COMPLETED

    samples = marketing.samples(stack.engine, order_id)
    # One a day from the first day after publishing to the last day of retention.
    assert len(samples) == 30
    assert samples[0].at.date() == (published_at + DAY).date()
    assert samples[-1].at.date() == (published_at + 30 * DAY).date()
    assert [s.plays for s in samples[:4]] == [40_000, 40_000, 100_000, 100_000]
    last = samples[-1]
    assert (last.plays, last.engagements, last.completion_rate) == (150_000, 3_000, 0.42)

    cost = PRICE + stack.fee
    assert marketing.cpm_fen(cost, last.plays) == 700  # 1,050 yuan / 150 thousand plays
    assert marketing.cpe_fen(cost, last.engagements) == 35
    svg = marketing.plays_chart_svg(order_id, samples)
    assert svg.startswith("<svg")
    assert svg.count("<circle") == 30
    assert "150,000" in svg


def test_cost_per_unit_rounds_half_up_in_whole_fen() -> None:
    # rule O11: integer fen, never a float
    assert marketing.cpm_fen(105_000, 0) is None
    assert marketing.cpm_fen(1, 3) == 333  # 333.3 fen per thousand plays
    assert marketing.cpm_fen(1, 2_000) == 1  # 0.5 rounds up
    assert marketing.cpe_fen(10, 4) == 3  # 2.5 rounds up


async def test_a_retention_violation_costs_the_creator_25_credit_once(
    stack: Stack, time_skipping_env: WorkflowEnvironment
) -> None:
    # rule O9
    order_id = (await stack.place()).terms.order_id
    await stack.to_published(order_id, video_id="v-gone")
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await time_skipping_env.sleep(4 * DAY + timedelta(hours=12))
    stack.platform.remove("v-gone")
    await time_skipping_env.sleep(DAY)  # the daily check finds it
    assert (await stack.handle(order_id).result()).status is OrderStatus.COMPLETED_WITH_VIOLATION
    assert creators.profile(stack.engine, CREATOR.id).credit_score == 75


async def test_a_video_on_someone_elses_account_cannot_be_submitted(stack: Stack) -> None:
    # rule O5
    stack.platform.link_video("not-mine", "another-order", "xg-someone-else")
    order_id = (await stack.place(skip_script=True)).terms.order_id
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    with pytest.raises(OrderError) as refused:
        await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="not-mine")
    assert refused.value.kind == "VideoNotFound"
    assert (await stack.view(order_id)).status is OrderStatus.VIDEO_PENDING
