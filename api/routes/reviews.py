"""The platform review queues."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool

from api import cursors
from api.cursors import ReviewPosition
from api.deps import ContextDep, CurrentUser, require
from api.schemas import ReviewItem, ReviewKind, ReviewPage, problem_responses
from db import orders as projection
from services import reviews
from services.prereview import ReviewedText
from workflows.messages import Role

router = APIRouter(tags=["reviews"])


def _item(row: Row[Any], kind: ReviewKind, now: datetime, texts: list[ReviewedText]) -> ReviewItem:
    """A queued review and how it stands. Its deadline is the order's own (D2: the review
    duration configured when the order was placed, as ops may since have moved it): the row's
    `deadline` while it runs, for the reviewer is who the order waits for; once it has passed,
    the workflow escalates the order and the deadline is closed."""
    # Every row in a queue has it (written at the hand-in, backfilled by migration 0006).
    since: datetime = row.submitted_for_review_at or row.updated_at
    due: datetime | None = row.deadline
    return ReviewItem(
        order_id=row.id,
        kind=kind,
        waiting_since=since,
        waiting_seconds=max(int((now - since).total_seconds()), 0),
        review_due=due,
        # Past due but not yet escalated: the timer fires within seconds while workers run.
        late=row.escalated or (due is not None and due <= now),
        escalated=row.escalated,
        creator_id=row.creator_id,
        product=row.brief["product"],
        texts=texts,
    )


@router.get(
    "/reviews/queue",
    response_model=ReviewPage,
    responses=problem_responses(401, 403, 422, 503),
)
async def review_queue(
    user: CurrentUser,
    context: ContextDep,
    kind: ReviewKind,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ReviewPage:
    """Scripts, videos, or republished videos (`publication`, reviewed after going public)
    waiting for platform review, the longest waiting first, each with how long it has waited
    and whether it is past its review deadline, and its texts with what the machine
    pre-review finds in them (B2); follow next_cursor."""
    require(user, Role.REVIEWER, Role.OPS)
    position = cursors.decode(cursor, ReviewPosition) if cursor else None
    after = (position.submitted_at, position.id) if position else None
    rows = await run_in_threadpool(projection.review_queue, context.engine, kind, limit + 1, after)
    page, more = rows[:limit], len(rows) > limit
    texts = await reviews.texts_of_queue(
        await context.orders(), context.adapters.platform, kind, [r.id for r in page]
    )
    now = context.clock()
    last = page[-1] if more else None
    return ReviewPage(
        items=[_item(r, kind, now, t) for r, t in zip(page, texts, strict=True)],
        next_cursor=cursors.encode(
            ReviewPosition(submitted_at=last.submitted_for_review_at, id=last.id)
        )
        if last is not None
        else None,
    )
