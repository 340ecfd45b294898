"""Calls to the video platform on behalf of an order."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.video_platform import VideoNotFound, VideoPlatform
from workflows.messages import PublishRequest

VIDEO_NOT_FOUND = "VideoNotFound"


class VideoActivities:
    def __init__(self, platform: VideoPlatform) -> None:
        self._platform = platform

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

    @activity.defn(name="is_video_public")
    def is_public(self, video_id: str) -> bool:
        """Whether the published video is still up (the periodic retention check, O9)."""
        try:
            return self._platform.is_public(video_id)
        except VideoNotFound:
            return False
