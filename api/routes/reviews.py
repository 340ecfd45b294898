"""The platform review queues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import ContextDep, CurrentUser, require
from api.schemas import Problem, ReviewItem, ReviewKind
from db import orders as projection
from services import reviews
from workflows.messages import Role

router = APIRouter(tags=["reviews"])


@router.get(
    "/reviews/queue",
    response_model=list[ReviewItem],
    responses={code: {"model": Problem} for code in (401, 403, 422, 503)},
)
async def review_queue(
    user: CurrentUser,
    context: ContextDep,
    kind: ReviewKind,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> list[ReviewItem]:
    """Scripts, videos, or republished videos (`publication`, reviewed after going public)
    waiting for platform review, the longest waiting first, each with its texts and what the
    machine pre-review finds in them (B2)."""
    require(user, Role.REVIEWER, Role.OPS)
    rows = await run_in_threadpool(projection.review_queue, context.engine, kind, limit)
    texts = await reviews.texts_of_queue(
        await context.orders(), context.adapters.platform, kind, [r.id for r in rows]
    )
    return [
        ReviewItem(
            order_id=r.id,
            kind=kind,
            waiting_since=r.updated_at,
            creator_id=r.creator_id,
            product=r.brief["product"],
            texts=t,
        )
        for r, t in zip(rows, texts, strict=True)
    ]
