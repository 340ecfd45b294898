"""Calls to the video platform on behalf of an order, and what they record."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.video_platform import VideoNotFound, VideoPlatform
from db.schema import video_stats
from db.sql import insert_ignore
from workflows.messages import LinkVideoRequest, PublishRequest, StatsRequest, VideoSample

VIDEO_NOT_FOUND = "VideoNotFound"


class VideoActivities:
    def __init__(self, platform: VideoPlatform, engine: Engine) -> None:
        self._platform = platform
        self._engine = engine

    @activity.defn(name="link_video")
    def link(self, request: LinkVideoRequest) -> None:
        """Tie the uploaded video to the order on the platform (O5)."""
        try:
            self._platform.link_video(request.video_id, request.order_id, request.xigua_account)
        except VideoNotFound as e:
            raise ApplicationError(str(e), type=VIDEO_NOT_FOUND, non_retryable=True) from e

    @activity.defn(name="publish_video")
    def publish(self, request: PublishRequest) -> None:
        """Publish the confirmed video on the creator's Xigua account (O6, O10)."""
        try:
            self._platform.publish(request.video_id, request.order_id)
        except VideoNotFound as e:
            raise ApplicationError(
                f"video {request.video_id} is not on the platform",
                type=VIDEO_NOT_FOUND,
                non_retryable=True,
            ) from e

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
