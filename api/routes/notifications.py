"""Inboxes (N1) and webhook endpoints (N2): every user's notifications, newest first, marked
read one by one or all at once; a client's endpoints, their secrets and delivery logs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from api import cursors
from api.cursors import RowPosition
from api.deps import ContextDep, CurrentUser, require
from api.errors import ApiError, from_refusal
from api.schemas import (
    NotificationPage,
    NotificationPublic,
    Problem,
    ReadAll,
    WebhookAttemptPage,
    WebhookAttemptPublic,
    WebhookBody,
    WebhookPublic,
    WebhookWithSecret,
)
from services import notifications, webhooks
from services.notifications import InboxItem
from services.webhooks import Endpoint, EndpointWithSecret, WebhookError
from workflows.bounds import RowId
from workflows.errors import ErrorKind
from workflows.messages import Id, Role

router = APIRouter(tags=["notifications"])
ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": Problem} for c in (401, 403, 404, 409, 422)}
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=200)]
NotificationId = Annotated[RowId, Path()]
EndpointId = Annotated[Id, Path()]


def _public(item: InboxItem) -> NotificationPublic:
    m = item.message
    return NotificationPublic(
        id=m.id,
        event_id=m.event_id,
        kind=m.kind,
        title=m.title,
        body=m.body,
        order_id=m.order_id,
        created_at=m.created_at,
        read_at=item.read_at,
    )


@router.get("/me/notifications", response_model=NotificationPage, responses=ERRORS)
def inbox(
    user: CurrentUser,
    context: ContextDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    unread: bool = False,
) -> NotificationPage:
    """Your notifications, newest first, with how many are unread; `unread=true` lists only
    those. Ops and reviewers also see those to their whole team, each with their own read
    state. Follow next_cursor for older ones."""
    before = cursors.decode(cursor, RowPosition).id if cursor else None
    page = notifications.inbox(context.engine, user.id, user.role, limit, before, unread)
    return NotificationPage(
        items=[_public(i) for i in page.items],
        unread_count=page.unread_count,
        next_cursor=cursors.encode(RowPosition(id=page.items[-1].message.id))
        if page.more
        else None,
    )


@router.post(
    "/me/notifications/{notification_id}/read",
    response_model=NotificationPublic,
    responses=ERRORS,
)
def mark_read(
    notification_id: NotificationId, user: CurrentUser, context: ContextDep
) -> NotificationPublic:
    """Mark one notification of your inbox read (again: it keeps the first time)."""
    item = notifications.mark_read(
        context.engine, user.id, user.role, notification_id, datetime.now(UTC)
    )
    if item is None:
        raise ApiError(ErrorKind.NOT_FOUND, f"notification {notification_id} not found")
    return _public(item)


@router.post("/me/notifications/read-all", response_model=ReadAll, responses=ERRORS)
def mark_all_read(user: CurrentUser, context: ContextDep) -> ReadAll:
    """Mark every notification in your inbox read; one that arrives later is unread."""
    marked = notifications.mark_all_read(context.engine, user.id, user.role, datetime.now(UTC))
    return ReadAll(
        marked=marked, unread_count=notifications.unread_count(context.engine, user.id, user.role)
    )


# --- webhooks (N2) ---


def _endpoint(e: Endpoint) -> WebhookPublic:
    return WebhookPublic(
        id=e.id, url=e.url, created_at=e.created_at, secret_rotated_at=e.secret_rotated_at
    )


def _with_secret(e: EndpointWithSecret) -> WebhookWithSecret:
    return WebhookWithSecret(**_endpoint(e.endpoint).model_dump(), secret=e.secret)


@router.post("/me/webhooks", status_code=201, response_model=WebhookWithSecret, responses=ERRORS)
async def register_webhook(
    body: WebhookBody, user: CurrentUser, context: ContextDep
) -> WebhookWithSecret:
    """Client: have every notification of your inbox POSTed to this URL, signed with the
    secret in the answer (shown only this once; docs/WEBHOOKS.md says how to check it)."""
    require(user, Role.CLIENT)
    settings = context.settings
    try:
        made = await run_in_threadpool(
            webhooks.register,
            context.engine,
            user.id,
            body.url,
            datetime.now(UTC),
            allow_loopback_http=settings.webhook_allow_loopback_http,
            resolver=context.adapters.resolver,
            max_endpoints=settings.webhook_max_per_client,
        )
    except WebhookError as e:
        raise from_refusal(e) from e
    return _with_secret(made)


@router.get("/me/webhooks", response_model=list[WebhookPublic], responses=ERRORS)
def list_webhooks(user: CurrentUser, context: ContextDep) -> list[WebhookPublic]:
    """Client: your webhook endpoints, oldest first, without their secrets."""
    require(user, Role.CLIENT)
    return [_endpoint(e) for e in webhooks.endpoints_of(context.engine, user.id)]


@router.post(
    "/me/webhooks/{endpoint_id}/rotate-secret",
    response_model=WebhookWithSecret,
    responses=ERRORS,
)
def rotate_secret(
    endpoint_id: EndpointId, user: CurrentUser, context: ContextDep
) -> WebhookWithSecret:
    """Client: a new secret for the endpoint (shown only now); every delivery from now on,
    retries included, is signed with it."""
    require(user, Role.CLIENT)
    try:
        return _with_secret(
            webhooks.rotate_secret(context.engine, user.id, endpoint_id, datetime.now(UTC))
        )
    except WebhookError as e:
        raise from_refusal(e) from e


@router.delete("/me/webhooks/{endpoint_id}", status_code=204, responses=ERRORS)
def delete_webhook(endpoint_id: EndpointId, user: CurrentUser, context: ContextDep) -> None:
    """Client: stop delivering to the endpoint; what was still to be delivered is cancelled."""
    require(user, Role.CLIENT)
    try:
        webhooks.remove(context.engine, user.id, endpoint_id, datetime.now(UTC))
    except WebhookError as e:
        raise from_refusal(e) from e


@router.get(
    "/me/webhooks/{endpoint_id}/deliveries",
    response_model=WebhookAttemptPage,
    responses=ERRORS,
)
def delivery_log(
    endpoint_id: EndpointId,
    user: CurrentUser,
    context: ContextDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> WebhookAttemptPage:
    """Client: every attempt to deliver to the endpoint, newest first: when, the HTTP status
    or the error, and the event id; follow next_cursor."""
    require(user, Role.CLIENT)
    before = cursors.decode(cursor, RowPosition).id if cursor else None
    try:
        attempts, more = webhooks.delivery_log(context.engine, user.id, endpoint_id, limit, before)
    except WebhookError as e:
        raise from_refusal(e) from e
    return WebhookAttemptPage(
        items=[WebhookAttemptPublic(**vars(a)) for a in attempts],
        next_cursor=cursors.encode(RowPosition(id=attempts[-1].id)) if more else None,
    )
