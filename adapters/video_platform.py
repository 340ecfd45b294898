"""What the product needs from the video platform (Xigua), and a local simulator of it.

The simulator keeps its state in the app database so that the worker, the API, the demo and
tests, in separate processes, all see the same videos.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, select, update

from db.schema import platform_videos
from db.sql import insert_ignore


class VideoNotFound(Exception):
    pass


class VideoPlatform(Protocol):
    def publish(self, video_id: str, order_id: str) -> None:
        """Make the video public on the creator's account, linked to the order. Publishing a
        video that is already public changes nothing, so a retried call is harmless."""
        ...

    def is_public(self, video_id: str) -> bool: ...


class SimulatedVideoPlatform:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def publish(self, video_id: str, order_id: str) -> None:
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            insert_ignore(
                conn,
                platform_videos,
                {"video_id": video_id, "order_id": order_id, "public": False},
            )
            conn.execute(
                update(platform_videos)
                .where(platform_videos.c.video_id == video_id, platform_videos.c.public.is_(False))
                .values(public=True, published_at=now, removed_at=None, order_id=order_id)
            )

    def is_public(self, video_id: str) -> bool:
        with self._engine.connect() as conn:
            public = conn.execute(
                select(platform_videos.c.public).where(platform_videos.c.video_id == video_id)
            ).scalar()
        if public is None:
            raise VideoNotFound(video_id)
        return bool(public)

    # Driven by tests and demos: what a creator does on the platform itself.
    def remove(self, video_id: str) -> None:
        with self._engine.begin() as conn:
            found = conn.execute(
                update(platform_videos)
                .where(platform_videos.c.video_id == video_id)
                .values(public=False, removed_at=datetime.now(UTC))
            ).rowcount
        if not found:
            raise VideoNotFound(video_id)
