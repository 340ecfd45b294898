"""Orders: place, read, list, the timeline, the contact and the marketing data. The actions' routes
are generated from the action table (api/routes/actions.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool

from api import cursors, idempotency
from api.access import visible_to
from api.cursors import OrderPosition
from api.deps import (
    ContextDep,
    CurrentUser,
    OrdersDep,
    RequiredIdempotencyKey,
    require,
)
from api.errors import ApiError, from_pending, from_refusal
from api.schemas import (
    ContactPublic,
    MarketingData,
    OrderPage,
    OrderPublic,
    OrderSummary,
    PlaceOrderRequest,
    SamplePublic,
    TimelineEntryPublic,
    problem_responses,
)
from db import orders as projection
from services import contacts, marketing
from services.auth import User
from services.orders import OrderError, OrderPending, PlaceOrder
from workflows.bounds import Instant
from workflows.errors import ErrorKind
from workflows.messages import (
    Action,
    Brief,
    Id,
    OrderStatus,
    Role,
)

router = APIRouter(tags=["orders"])

OrderId = Annotated[Id, Path()]
ERRORS = problem_responses(401, 403, 404, 409, 422, 503)


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
        revision_rounds=body.revision_rounds,
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
    client_id: Annotated[Id | None, Query(description="orders of this client")] = None,
    creator_id: Annotated[Id | None, Query(description="orders of this creator")] = None,
    deadline_before: Annotated[
        Instant | None,
        Query(description="orders whose next deadline falls before this time (with its zone)"),
    ] = None,
    escalated: Annotated[bool | None, Query(description="a review past its deadline")] = None,
    disputed: Annotated[bool | None, Query(description="a dispute open")] = None,
    overdue: Annotated[bool | None, Query(description="a delivery past its due date")] = None,
    attention: Annotated[
        bool | None,
        Query(description="true: escalated, disputed or overdue (the ops attention list)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderPage:
    """The orders the caller may see (ops: every order), newest first; follow next_cursor.
    The filters combine (AND) and only ever narrow the caller's own orders: a client or
    creator naming someone else's id gets an empty page, never another's order (rule P1)."""
    position = cursors.decode(cursor, OrderPosition) if cursor else None
    filters = projection.OrderFilter(
        status=status.value if status else None,
        client_id=client_id,
        creator_id=creator_id,
        deadline_before=deadline_before,
        escalated=escalated,
        disputed=disputed,
        overdue=overdue,
        attention=attention,
    )
    rows = await run_in_threadpool(
        projection.list_orders,
        context.engine,
        visible_to(user),
        filters,
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
                escalated=r.escalated,
                disputed=r.disputed,
                overdue=r.overdue,
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
