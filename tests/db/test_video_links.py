"""One order per video, held by the app database whatever the platform allows (rules O5, O10),
on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import ApplicationError

from activities.video import VideoActivities
from adapters.video_platform import AccountMetrics, AccountOwner, VideoDetails, VideoStats
from db import video_links
from db.schema import video_links as video_links_table
from workflows.messages import LinkVideoRequest


def test_a_video_is_claimed_by_one_order_and_again_by_the_same(engine: Engine) -> None:
    # rules O5 A2
    assert video_links.claim(engine, "v-1", "order-a", "xg-a") == "order-a"
    assert video_links.claim(engine, "v-1", "order-b", "xg-a") == "order-a"
    assert video_links.claim(engine, "v-1", "order-a", "xg-a") == "order-a"
    # The constraint itself, not only the helper that respects it.
    row = {
        "order_id": "order-b",
        "video_id": "v-1",
        "xigua_account_id": "xg-a",
        "linked_at": datetime.now(UTC),
    }
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(video_links_table).values(row))


def test_of_orders_claiming_one_video_at_once_one_wins(engine: Engine) -> None:
    # rule O5
    orders = [f"order-{n}" for n in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        holders = list(
            pool.map(lambda order: video_links.claim(engine, "v-race", order, "xg-a"), orders)
        )
    assert len(set(holders)) == 1
    assert holders[0] in orders


class AnythingGoesPlatform:
    """A platform that links any video to any order: the rule must hold without its help."""

    def account_owner(self, xigua_account_id: str) -> AccountOwner:
        raise NotImplementedError

    def account_metrics(self, xigua_account_id: str) -> AccountMetrics:
        raise NotImplementedError

    def link_video(self, video_id: str, order_id: str, xigua_account_id: str) -> None:
        pass

    def publish(self, video_id: str, order_id: str) -> None:
        pass

    def take_down(self, video_id: str) -> None:
        pass

    def is_public(self, video_id: str) -> bool:
        return True

    def stats(self, video_id: str) -> VideoStats:
        raise NotImplementedError

    def details(self, video_id: str) -> VideoDetails:
        raise NotImplementedError


def test_the_link_activity_refuses_a_second_order_even_if_the_platform_would_not(
    engine: Engine,
) -> None:
    # rules O5 O10
    activities = VideoActivities(AnythingGoesPlatform(), engine)
    first = LinkVideoRequest(order_id="order-a", video_id="v-1", xigua_account="xg-a")
    activities.link(first)
    activities.link(first)  # a retried activity
    with pytest.raises(ApplicationError) as refused:
        activities.link(first.model_copy(update={"order_id": "order-b"}))
    assert refused.value.type == "VideoLinkedElsewhere"
    assert refused.value.non_retryable
    assert "order-a" not in refused.value.message
