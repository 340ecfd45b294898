"""What the product needs from the video platform (Xigua), and a local simulator of it.

The simulator keeps its state in the app database so that the worker, the API, the demo and
tests, in separate processes, all see the same accounts and videos. Tests and demos drive it
(set an account's metrics, add plays, delete a video) as the real platform's users would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, case, or_, select, update

from db.engine import reading
from db.schema import platform_accounts, platform_videos
from db.sql import insert_ignore
from workflows.bounds import MAX_COUNT


class AccountNotFound(Exception):
    pass


class LoginPlatform(StrEnum):
    """The apps a creator signs in with; each Xigua account belongs to one account of one."""

    DOUYIN = "douyin"
    TOUTIAO = "toutiao"
    HUOSHAN = "huoshan"


class AccountOwner(BaseModel, frozen=True):
    """The Douyin, Toutiao or Huoshan account a Xigua account belongs to (rule C1)."""

    login_platform: LoginPlatform
    login_account: str


class VideoNotFound(Exception):
    pass


class VideoLinkedElsewhere(Exception):
    """The video is already linked to another order: one video is sold once (O5, O10)."""


class AccountMetrics(BaseModel):
    """What eligibility (rule C2) is judged on, read at the moment of applying."""

    fans_toutiao: int = Field(ge=0)
    fans_xigua: int = Field(ge=0)
    unhealthy: bool
    original: bool
    category: str | None = None
    # Plays of the account's most recent videos, newest first.
    recent_plays: list[int]


class VideoStats(BaseModel):
    public: bool
    plays: int
    likes: int
    comments: int
    shares: int
    completion_rate: float


class VideoDetails(BaseModel):
    """What the platform shows of a video besides its numbers, as its uploader wrote it; the
    machine pre-review (B2) reads it. Either may be missing."""

    title: str | None = None
    description: str | None = None


class VideoPlatform(Protocol):
    def account_owner(self, xigua_account_id: str) -> AccountOwner:
        """Who the account belongs to. Raises AccountNotFound if there is no such account."""
        ...

    def account_metrics(self, xigua_account_id: str) -> AccountMetrics: ...

    def link_video(self, video_id: str, order_id: str, xigua_account_id: str) -> None:
        """Tie an uploaded video to an order. Raises VideoNotFound if the video is not on the
        creator's account, VideoLinkedElsewhere if it is tied to another order. Linking it to
        the same order again changes nothing."""
        ...

    def publish(self, video_id: str, order_id: str) -> None:
        """Make the video public on the creator's account. Publishing a video that is already
        public changes nothing, so a retried call is harmless."""
        ...

    def take_down(self, video_id: str) -> None:
        """Make the video private, as the platform does with content its review rejected.
        Taking down a video that is already down, or gone, changes nothing."""
        ...

    def is_public(self, video_id: str) -> bool: ...

    def stats(self, video_id: str) -> VideoStats: ...

    def details(self, video_id: str) -> VideoDetails:
        """The video's title and description. Raises VideoNotFound if there is no such video."""
        ...


class SimulatedVideoPlatform:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def account_owner(self, xigua_account_id: str) -> AccountOwner:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(platform_accounts.c.owner_platform, platform_accounts.c.owner_account).where(
                    platform_accounts.c.xigua_account_id == xigua_account_id
                )
            ).first()
        # An account simulated before owners were modelled has none: it cannot be bound until
        # set_account gives it one, as the real platform has no account without an owner.
        if row is None or row.owner_platform is None or row.owner_account is None:
            raise AccountNotFound(xigua_account_id)
        return AccountOwner(login_platform=row.owner_platform, login_account=row.owner_account)

    def account_metrics(self, xigua_account_id: str) -> AccountMetrics:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(platform_accounts).where(
                    platform_accounts.c.xigua_account_id == xigua_account_id
                )
            ).first()
        if row is None:
            raise AccountNotFound(xigua_account_id)
        return AccountMetrics(
            fans_toutiao=row.fans_toutiao,
            fans_xigua=row.fans_xigua,
            unhealthy=row.unhealthy,
            original=row.original,
            category=row.category,
            recent_plays=list(row.recent_plays),
        )

    def link_video(self, video_id: str, order_id: str, xigua_account_id: str) -> None:
        v = platform_videos.c
        with self._engine.begin() as conn:
            # The simulator takes an id it has never seen as an upload to the account linking it.
            self._upload(conn, video_id, xigua_account_id)
            owner = conn.execute(select(v.xigua_account_id).where(v.video_id == video_id)).scalar()
            if owner != xigua_account_id:
                raise VideoNotFound(f"video {video_id} is not on Xigua account {xigua_account_id}")
            # Conditional, so that of two orders linking one video at once only one succeeds.
            linked = conn.execute(
                update(platform_videos)
                .where(v.video_id == video_id, or_(v.order_id.is_(None), v.order_id == order_id))
                .values(order_id=order_id)
            ).rowcount
            if not linked:
                raise VideoLinkedElsewhere(f"video {video_id} is linked to another order")

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

    def take_down(self, video_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(platform_videos)
                .where(platform_videos.c.video_id == video_id, platform_videos.c.public.is_(True))
                .values(public=False, removed_at=datetime.now(UTC))
            )

    def is_public(self, video_id: str) -> bool:
        return self.stats(video_id).public

    def stats(self, video_id: str) -> VideoStats:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(platform_videos).where(platform_videos.c.video_id == video_id)
            ).first()
        if row is None:
            raise VideoNotFound(video_id)
        return VideoStats(
            public=row.public,
            plays=row.plays,
            likes=row.likes,
            comments=row.comments,
            shares=row.shares,
            completion_rate=row.completion_rate,
        )

    def details(self, video_id: str) -> VideoDetails:
        v = platform_videos.c
        with reading(self._engine) as conn:
            row = conn.execute(select(v.title, v.description).where(v.video_id == video_id)).first()
        if row is None:
            raise VideoNotFound(video_id)
        return VideoDetails(title=row.title, description=row.description)

    # --- Driven by tests and demos: what happens on the platform itself. ---

    def set_account(
        self, xigua_account_id: str, metrics: AccountMetrics, owner: AccountOwner
    ) -> None:
        """Create the account, or change its numbers and owner, as happens on the platform."""
        values = {
            **metrics.model_dump(),
            "owner_platform": owner.login_platform.value,
            "owner_account": owner.login_account,
        }
        with self._engine.begin() as conn:
            if not insert_ignore(
                conn, platform_accounts, {"xigua_account_id": xigua_account_id, **values}
            ):
                conn.execute(
                    update(platform_accounts)
                    .where(platform_accounts.c.xigua_account_id == xigua_account_id)
                    .values(**values)
                )

    def upload(
        self, video_id: str, xigua_account_id: str, details: VideoDetails | None = None
    ) -> None:
        """A creator uploads a video to its Xigua account (not yet public, linked to nothing),
        or edits the title and description of one it uploaded. Raises VideoNotFound if the id
        is a video of another account."""
        v = platform_videos.c
        with self._engine.begin() as conn:
            self._upload(conn, video_id, xigua_account_id)
            owner = conn.execute(select(v.xigua_account_id).where(v.video_id == video_id)).scalar()
            if owner != xigua_account_id:
                raise VideoNotFound(f"video {video_id} is not on Xigua account {xigua_account_id}")
            if details is not None:
                conn.execute(
                    update(platform_videos)
                    .where(v.video_id == video_id)
                    .values(title=details.title, description=details.description)
                )

    @staticmethod
    def _upload(conn: Connection, video_id: str, xigua_account_id: str) -> None:
        insert_ignore(
            conn,
            platform_videos,
            {"video_id": video_id, "xigua_account_id": xigua_account_id, "public": False},
        )

    def add_engagement(
        self,
        video_id: str,
        plays: int = 0,
        likes: int = 0,
        comments: int = 0,
        shares: int = 0,
        completion_rate: float | None = None,
    ) -> VideoStats:
        v = platform_videos.c
        # A running count stops at MAX_COUNT: what the API took must not overflow a later sum.
        values: dict[str, object] = {
            name: case((column + added > MAX_COUNT, MAX_COUNT), else_=column + added)
            for name, column, added in (
                ("plays", v.plays, plays),
                ("likes", v.likes, likes),
                ("comments", v.comments, comments),
                ("shares", v.shares, shares),
            )
        }
        if completion_rate is not None:
            values["completion_rate"] = completion_rate
        with self._engine.begin() as conn:
            found = conn.execute(
                update(platform_videos).where(v.video_id == video_id).values(**values)
            ).rowcount
        if not found:
            raise VideoNotFound(video_id)
        return self.stats(video_id)

    def remove(self, video_id: str) -> str | None:
        """Delete (hide) the video; returns the order it was linked to, for the webhook."""
        with self._engine.begin() as conn:
            found = conn.execute(
                update(platform_videos)
                .where(platform_videos.c.video_id == video_id)
                .values(public=False, removed_at=datetime.now(UTC))
            ).rowcount
            order_id = conn.execute(
                select(platform_videos.c.order_id).where(platform_videos.c.video_id == video_id)
            ).scalar()
        if not found:
            raise VideoNotFound(video_id)
        return order_id
