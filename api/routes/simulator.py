"""Drive the local video-platform simulator, as Xigua's own users and webhooks would: set an
account's metrics, add plays, take a video down. Ops only; mounted with XIGUA_SIMULATOR_ROUTES."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from adapters.video_platform import (
    AccountMetrics,
    AccountOwner,
    VideoDetails,
    VideoNotFound,
    VideoStats,
)
from api.deps import ContextDep, CurrentUser, require
from api.errors import ApiError
from api.schemas import (
    EngagementBody,
    SimulatedAccountBody,
    SimulatedVideoBody,
    problem_responses,
)
from services.orders import OrderNotFound
from workflows.errors import ErrorKind
from workflows.messages import Id, Role

router = APIRouter(prefix="/simulator", tags=["video-platform simulator"])
ERRORS = problem_responses(401, 403, 404, 422, 503)
PlatformId = Annotated[Id, Path()]


@router.put("/accounts/{xigua_account_id}", status_code=204, responses=ERRORS)
def set_account(
    xigua_account_id: PlatformId,
    body: SimulatedAccountBody,
    user: CurrentUser,
    context: ContextDep,
) -> None:
    """Create or change a Xigua account: the Douyin, Toutiao or Huoshan account it belongs
    to, its fans, flags and recent plays (what binding and eligibility are judged on)."""
    require(user, Role.OPS)
    owner = AccountOwner(login_platform=body.login_platform, login_account=body.login_account)
    metrics = AccountMetrics(**body.model_dump(exclude={"login_platform", "login_account"}))
    context.simulator.set_account(xigua_account_id, metrics, owner)


@router.put("/videos/{video_id}", status_code=204, responses=ERRORS)
def upload_video(
    video_id: PlatformId, body: SimulatedVideoBody, user: CurrentUser, context: ContextDep
) -> None:
    """Upload a video to a Xigua account, or edit its title and description (what the
    pre-review of a video reads, B2), as its creator does on the platform."""
    require(user, Role.OPS)
    details = VideoDetails(title=body.title, description=body.description)
    try:
        context.simulator.upload(video_id, body.xigua_account_id, details)
    except VideoNotFound as e:
        raise ApiError(ErrorKind.NOT_FOUND, str(e)) from e


@router.post("/videos/{video_id}/engagement", response_model=VideoStats, responses=ERRORS)
def add_engagement(
    video_id: PlatformId, body: EngagementBody, user: CurrentUser, context: ContextDep
) -> VideoStats:
    """Add plays, likes, comments and shares to a video (its numbers as the platform shows)."""
    require(user, Role.OPS)
    try:
        return context.simulator.add_engagement(video_id, **body.model_dump())
    except VideoNotFound as e:
        raise ApiError(ErrorKind.NOT_FOUND, f"video {video_id} not found") from e


@router.post("/videos/{video_id}/remove", status_code=204, responses=ERRORS)
async def remove_video(video_id: PlatformId, user: CurrentUser, context: ContextDep) -> None:
    """Take a video down, and tell its order, as the platform's webhook does (O9, O10)."""
    require(user, Role.OPS)
    try:
        order_id = await run_in_threadpool(context.simulator.remove, video_id)
    except VideoNotFound as e:
        raise ApiError(ErrorKind.NOT_FOUND, f"video {video_id} not found") from e
    if order_id is not None:
        orders = await context.orders()
        # An order that has already ended has nothing left to watch.
        with contextlib.suppress(OrderNotFound):
            await orders.video_removed(order_id, video_id, "the video was taken down on Xigua")
