"""Orders: place, read, list, and one route per user action (each one workflow Update)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool

from api import cursors, idempotency
from api.access import ROLE_FOR_ACTION, visible_to
from api.cursors import OrderPosition
from api.deps import (
    ContextDep,
    CurrentUser,
    IdempotencyKey,
    OrdersDep,
    RequiredIdempotencyKey,
    require,
)
from api.errors import ApiError, from_pending, from_refusal
from api.schemas import (
    ContactPublic,
    ExtensionAnswerBody,
    ExtensionBody,
    MarketingData,
    MoveDeadlineBody,
    OrderPage,
    OrderPublic,
    OrderSummary,
    PlaceOrderRequest,
    Problem,
    PublicationReviewBody,
    ReasonBody,
    ReviewBody,
    SamplePublic,
    ScriptBody,
    TimelineEntryPublic,
    VideoBody,
)
from db import orders as projection
from services import contacts, marketing
from services.auth import User
from services.orders import OrderError, OrderPending, OrderService, PlaceOrder
from workflows.actions import ACTIONS
from workflows.errors import ErrorKind
from workflows.messages import (
    Action,
    Actor,
    Brief,
    Id,
    OrderStatus,
    Role,
)

router = APIRouter(tags=["orders"])

OrderId = Annotated[Id, Path()]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (401, 403, 404, 409, 422, 503)
}


def _visible_order(context: ContextDep, user: User, order_id: str) -> Row[Any]:
    """The order's projection row, if the caller may see the order; 404 otherwise. A blocking
    read: async routes call it through `run_in_threadpool`."""
    row = projection.find_order(context.engine, order_id, visible_to(user))
    if row is None:
        raise ApiError(ErrorKind.NOT_FOUND, f"order {order_id} not found")
    return row


@router.post("/orders", status_code=201, response_model=OrderPublic, responses=ERRORS)
async def place_order(
    body: PlaceOrderRequest,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: RequiredIdempotencyKey,
) -> JSONResponse:
    """Order a creator at the creator's current quote (optionally stating the price seen);
    price and fee are frozen in escrow. Needs an Idempotency-Key."""
    require(user, Role.CLIENT)
    # The order id derives from the key: a retried request can only reach the same order.
    order_id = idempotency.derived_id(user.id, idempotency_key)
    request = PlaceOrder(
        client_id=user.id,
        creator_id=body.creator_id,
        brief=Brief(
            product=body.product,
            requirements=body.requirements,
            due_date=body.due_date,
            script_due=body.script_due,
            video_due=body.video_due,
        ),
        skip_script=body.skip_script,
        retention_days=body.retention_days,
        order_id=order_id,
        price_fen=body.price_fen,
    )

    async def place() -> tuple[int, Any]:
        try:
            view = await orders.place(request)
        except OrderPending as e:
            raise from_pending(e, keyed=True) from e
        except OrderError as e:
            raise from_refusal(e) from e
        return 201, OrderPublic.from_view(view, user.role).model_dump(mode="json")

    fingerprint = idempotency.request_hash("POST /orders", body.model_dump(mode="json"))
    return await idempotency.run_once(context.engine, user.id, idempotency_key, fingerprint, place)


@router.get("/orders", response_model=OrderPage, responses=ERRORS)
async def list_orders(
    user: CurrentUser,
    context: ContextDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderPage:
    """The caller's orders, newest first, optionally of one status; follow next_cursor."""
    position = cursors.decode(cursor, OrderPosition) if cursor else None
    rows = await run_in_threadpool(
        projection.list_orders,
        context.engine,
        visible_to(user),
        status.value if status else None,
        limit + 1,
        (position.created_at, position.id) if position else None,
    )
    page, more = rows[:limit], len(rows) > limit
    return OrderPage(
        items=[
            OrderSummary(
                id=r.id,
                status=r.status,
                client_id=r.client_id,
                creator_id=r.creator_id,
                price_fen=r.price_fen,
                fee_fen=r.fee_fen,
                product=r.brief["product"],
                next_actor=r.next_actor,
                deadline=r.deadline,
                at_deadline=r.at_deadline,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in page
        ],
        next_cursor=cursors.encode(OrderPosition(created_at=page[-1].created_at, id=page[-1].id))
        if more
        else None,
    )


@router.get("/orders/{order_id}", response_model=OrderPublic, responses=ERRORS)
async def get_order(
    order_id: OrderId, user: CurrentUser, context: ContextDep, orders: OrdersDep
) -> OrderPublic:
    """One order: its state, who must act next and by when, and what the caller may do now."""
    row = await run_in_threadpool(_visible_order, context, user, order_id)
    view = await orders.view(order_id, recorded=OrderStatus(row.status))
    return OrderPublic.from_view(view, user.role)


@router.get(
    "/orders/{order_id}/timeline", response_model=list[TimelineEntryPublic], responses=ERRORS
)
async def get_timeline(
    order_id: OrderId, user: CurrentUser, context: ContextDep
) -> list[TimelineEntryPublic]:
    """Every transition of the order: who, when, from which status to which, and why."""
    await run_in_threadpool(_visible_order, context, user, order_id)
    entries = await run_in_threadpool(projection.timeline, context.engine, order_id)
    return [
        TimelineEntryPublic(
            seq=e.seq,
            at=e.at,
            actor_id=e.actor_id,
            actor_role=Role(e.actor_role),
            action=Action(e.action),
            from_status=OrderStatus(e.from_status) if e.from_status else None,
            to_status=OrderStatus(e.to_status),
            reason=e.reason,
        )
        for e in entries
    ]


async def _act(
    action: Action,
    order_id: str,
    user: User,
    context: ContextDep,
    orders: OrderService,
    key: str | None,
    body: BaseModel | None = None,
) -> JSONResponse:
    """The one path of every action: the role (403) here, then the workflow: the order's
    own client or creator (404 to anyone else, as for an order that does not exist), the
    status (409). Ownership is the workflow's to judge, not the projection's: it holds the
    order's parties, and asking it costs no database read on the way."""
    require(user, ROLE_FOR_ACTION[action])
    fields = body.model_dump() if body is not None else {}
    # Hashed: a key may hold any characters, a workflow request id only a few.
    request_id = idempotency.derived_id(user.id, key) if key else uuid.uuid4().hex
    actor = Actor(id=user.id, role=user.role)
    payload = ACTIONS[action].input(actor=actor, request_id=request_id, **fields)

    async def act() -> tuple[int, Any]:
        try:
            view = await orders.act(order_id, action, payload)
        except OrderPending as e:
            raise from_pending(e, keyed=key is not None) from e
        except OrderError as e:
            raise from_refusal(e) from e
        return 200, OrderPublic.from_view(view, user.role).model_dump(mode="json")

    fingerprint = idempotency.request_hash(
        action.value, order_id, body.model_dump(mode="json") if body else None
    )
    return await idempotency.run_once(context.engine, user.id, key, fingerprint, act)


ACTION: dict[str, Any] = {"response_model": OrderPublic, "responses": ERRORS}


@router.post("/orders/{order_id}/accept", **ACTION)
async def accept(
    order_id: OrderId,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator: accept the order, within 24 hours of its placing."""
    return await _act(Action.ACCEPT, order_id, user, context, orders, idempotency_key)


@router.post("/orders/{order_id}/decline", **ACTION)
async def decline(
    order_id: OrderId,
    body: ReasonBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator: decline the order before accepting it; the client is refunded in full."""
    return await _act(Action.DECLINE, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/cancel", **ACTION)
async def cancel(
    order_id: OrderId,
    body: ReasonBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: cancel the order before the creator accepts; refunded in full."""
    return await _act(Action.CANCEL, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/script", **ACTION)
async def submit_script(
    order_id: OrderId,
    body: ScriptBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator: upload the script (again, after a rejection); it goes to platform review."""
    return await _act(Action.SUBMIT_SCRIPT, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/script/review", **ACTION)
async def review_script(
    order_id: OrderId,
    body: ReviewBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Reviewer: approve the script, or reject it with a reason."""
    return await _act(Action.REVIEW_SCRIPT, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/script/confirm", **ACTION)
async def confirm_script(
    order_id: OrderId,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: confirm the approved script; this unlocks the video phase."""
    return await _act(Action.CONFIRM_SCRIPT, order_id, user, context, orders, idempotency_key)


@router.post("/orders/{order_id}/script/reject", **ACTION)
async def reject_script(
    order_id: OrderId,
    body: ReasonBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: reject the approved script with a reason; the creator revises it."""
    return await _act(Action.REJECT_SCRIPT, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/video", **ACTION)
async def submit_video(
    order_id: OrderId,
    body: VideoBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator: link the video uploaded on Xigua to the order; it goes to platform review."""
    return await _act(Action.SUBMIT_VIDEO, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/video/review", **ACTION)
async def review_video(
    order_id: OrderId,
    body: ReviewBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Reviewer: approve the video, or reject it with a reason."""
    return await _act(Action.REVIEW_VIDEO, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/video/confirm", **ACTION)
async def confirm_video(
    order_id: OrderId,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: confirm the approved video; it can then be published."""
    return await _act(Action.CONFIRM_VIDEO, order_id, user, context, orders, idempotency_key)


@router.post("/orders/{order_id}/video/reject", **ACTION)
async def reject_video(
    order_id: OrderId,
    body: ReasonBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: reject the approved video with a reason; the creator revises it."""
    return await _act(Action.REJECT_VIDEO, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/publish", **ACTION)
async def publish(
    order_id: OrderId,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: publish the confirmed video on the creator's Xigua account."""
    return await _act(Action.PUBLISH, order_id, user, context, orders, idempotency_key)


@router.post("/orders/{order_id}/republish", **ACTION)
async def republish(
    order_id: OrderId,
    body: VideoBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator: publish a video of its own Xigua account again before acceptance, linked to no
    other order; the 7-day countdown restarts, and the video awaits its post-publication review."""
    return await _act(Action.REPUBLISH, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/publication/review", **ACTION)
async def review_publication(
    order_id: OrderId,
    body: PublicationReviewBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Reviewer: approve the republished video, or reject it with a reason (it is taken down)."""
    return await _act(
        Action.REVIEW_PUBLICATION, order_id, user, context, orders, idempotency_key, body
    )


@router.post("/orders/{order_id}/accept-delivery", **ACTION)
async def accept_delivery(
    order_id: OrderId,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: accept the published video; the escrow is released to the creator at once."""
    return await _act(Action.ACCEPT_DELIVERY, order_id, user, context, orders, idempotency_key)


@router.post("/orders/{order_id}/cancel-overdue", **ACTION)
async def cancel_overdue(
    order_id: OrderId,
    body: ReasonBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: cancel an order whose delivery is overdue (rule D2); refunded in full."""
    return await _act(Action.CANCEL_OVERDUE, order_id, user, context, orders, idempotency_key, body)


@router.post("/orders/{order_id}/extension", **ACTION)
async def request_extension(
    order_id: OrderId,
    body: ExtensionBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator: ask the client for more time on the delivery deadline (rule D4)."""
    return await _act(
        Action.REQUEST_EXTENSION, order_id, user, context, orders, idempotency_key, body
    )


@router.post("/orders/{order_id}/extension/answer", **ACTION)
async def answer_extension(
    order_id: OrderId,
    body: ExtensionAnswerBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Client: grant or refuse the creator's extension request (rule D4)."""
    return await _act(
        Action.ANSWER_EXTENSION, order_id, user, context, orders, idempotency_key, body
    )


@router.post("/orders/{order_id}/deadline", **ACTION)
async def move_deadline(
    order_id: OrderId,
    body: MoveDeadlineBody,
    user: CurrentUser,
    context: ContextDep,
    orders: OrdersDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ops: move the order's current deadline, with a reason (rules D4, P2)."""
    return await _act(Action.MOVE_DEADLINE, order_id, user, context, orders, idempotency_key, body)


@router.get("/orders/{order_id}/contact", response_model=ContactPublic, responses=ERRORS)
def contact(order_id: OrderId, user: CurrentUser, context: ContextDep) -> ContactPublic:
    """The virtual number that reaches the other side of the order, once it is accepted."""
    require(user, Role.CLIENT, Role.CREATOR)
    row = _visible_order(context, user, order_id)
    client_side = user.role is Role.CLIENT
    other = row.creator_id if client_side else row.client_id
    try:
        number = contacts.virtual_number(
            context.engine,
            context.adapters.telephony,
            order_id,
            OrderStatus(row.status),
            user.id,
            other,
        )
    except contacts.NoContactYet as e:
        raise ApiError(ErrorKind.INVALID_STATE, str(e)) from e
    return ContactPublic(
        order_id=order_id,
        counterpart_role=Role.CREATOR if client_side else Role.CLIENT,
        virtual_number=number,
    )


def _marketing(
    context: ContextDep, user: User, order_id: str
) -> tuple[Any, list[marketing.Sample]]:
    row = _visible_order(context, user, order_id)
    return row, marketing.samples(context.engine, order_id)


@router.get("/orders/{order_id}/stats", response_model=MarketingData, responses=ERRORS)
def stats(order_id: OrderId, user: CurrentUser, context: ContextDep) -> MarketingData:
    """The published video's numbers over time (O11), with cost per mille and per engagement."""
    row, samples = _marketing(context, user, order_id)
    cost = int(row.price_fen) + int(row.fee_fen)
    last = samples[-1] if samples else None
    plays, engagements = (last.plays, last.engagements) if last else (0, 0)
    return MarketingData(
        order_id=order_id,
        cost_fen=cost,
        samples=[SamplePublic(**vars(s)) for s in samples],
        plays=plays,
        engagements=engagements,
        cpm_fen=marketing.cpm_fen(cost, plays),
        cpe_fen=marketing.cpe_fen(cost, engagements),
    )


@router.get(
    "/orders/{order_id}/stats/plays.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "SVG line chart"}, **ERRORS},
)
def plays_chart(order_id: OrderId, user: CurrentUser, context: ContextDep) -> Response:
    """A chart of the video's plays over time (SVG)."""
    _, samples = _marketing(context, user, order_id)
    return Response(marketing.plays_chart_svg(order_id, samples), media_type="image/svg+xml")
