"""Calls to the video platform on behalf of an order, and what they record."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.video_platform import VideoLinkedElsewhere, VideoNotFound, VideoPlatform
from db import video_links
from db.schema import video_stats
from db.sql import insert_ignore
from workflows.errors import ErrorKind
from workflows.messages import (
    LinkVideoRequest,
    PublishRequest,
    StatsRequest,
    TakeDownRequest,
    VideoSample,
)


class VideoActivities:
    def __init__(self, platform: VideoPlatform, engine: Engine) -> None:
        self._platform = platform
        self._engine = engine

    @activity.defn(name="link_video")
    def link(self, request: LinkVideoRequest) -> None:
        """Tie the video to the order (O5, O10): only a video on the creator's own Xigua account
        and linked to no other order. Linking it to the same order again (a retry, the same
        video republished) changes nothing."""
        account = request.xigua_account
        if account is None:
            raise ApplicationError(
                f"order {request.order_id} has no Xigua account of the creator to take videos from",
                type=ErrorKind.VIDEO_NOT_FOUND,
                non_retryable=True,
            )
        try:
            self._platform.link_video(request.video_id, request.order_id, account)
        except VideoNotFound as e:
            raise ApplicationError(
                str(e), type=ErrorKind.VIDEO_NOT_FOUND, non_retryable=True
            ) from e
        except VideoLinkedElsewhere as e:
            raise _linked_elsewhere(request.video_id) from e
        # Whatever the platform allows, this database holds each video to one order.
        holder = video_links.claim(self._engine, request.video_id, request.order_id, account)
        if holder != request.order_id:
            raise _linked_elsewhere(request.video_id)

    @activity.defn(name="publish_video")
    def publish(self, request: PublishRequest) -> None:
        """Publish the confirmed video on the creator's Xigua account (O6, O10)."""
        try:
            self._platform.publish(request.video_id, request.order_id)
        except VideoNotFound as e:
            raise ApplicationError(
                f"video {request.video_id} is not on the platform",
                type=ErrorKind.VIDEO_NOT_FOUND,
                non_retryable=True,
            ) from e

    @activity.defn(name="take_down_video")
    def take_down(self, request: TakeDownRequest) -> None:
        """Take the published video down: its post-publication review rejected it (O10)."""
        self._platform.take_down(request.video_id)

    @activity.defn(name="collect_video_stats")
    def collect(self, request: StatsRequest) -> VideoSample:
        """Record the video's numbers now (O11); whether it is public feeds the retention
        check (O9). Written once per sample number, so a retry records nothing twice."""
        try:
            stats = self._platform.stats(request.video_id)
        except VideoNotFound:
            sample = VideoSample(
                public=False, plays=0, likes=0, comments=0, shares=0, completion_rate=0.0
            )
        else:
            sample = VideoSample(**stats.model_dump())
        with self._engine.begin() as conn:
            insert_ignore(
                conn,
                video_stats,
                {
                    "order_id": request.order_id,
                    "sample": request.sample,
                    "video_id": request.video_id,
                    "at": request.at,
                    **sample.model_dump(),
                },
            )
        return sample


def _linked_elsewhere(video_id: str) -> ApplicationError:
    # Which order holds it is another party's business: not named.
    return ApplicationError(
        f"video {video_id} is already linked to another order; a video serves one order only",
        type=ErrorKind.VIDEO_LINKED_ELSEWHERE,
        non_retryable=True,
    )
