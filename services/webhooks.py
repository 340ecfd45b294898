"""A client's webhook endpoints (N2): register, list, rotate the secret, delete, and read the
log of deliveries to one endpoint."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, and_, delete, func, select, update

from adapters.webhooks import EndpointRefused, Resolver, check_endpoint
from db.engine import reading
from db.schema import deliveries, delivery_attempts, notifications, webhook_endpoints
from services.notifications import event_id
from workflows.errors import ErrorKind, Refusal


class WebhookError(Refusal):
    pass


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    created_at: datetime
    secret_rotated_at: datetime | None


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: Endpoint
    secret: str


@dataclass(frozen=True)
class LoggedAttempt:
    id: int
    event_id: str
    notification_id: int
    kind: str
    attempt: int
    at: datetime
    outcome: str
    status_code: int | None
    error: str | None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _endpoint(row: Row[Any]) -> Endpoint:
    return Endpoint(
        id=row.id, url=row.url, created_at=row.created_at, secret_rotated_at=row.secret_rotated_at
    )


def register(
    engine: Engine,
    user_id: str,
    url: str,
    now: datetime,
    *,
    allow_loopback_http: bool,
    resolver: Resolver,
    max_endpoints: int,
) -> EndpointWithSecret:
    try:
        check_endpoint(url, allow_loopback_http, resolver)
    except EndpointRefused as e:
        raise WebhookError(ErrorKind.INVALID_INPUT, f"endpoint refused: {e}") from e
    secret = new_secret()
    endpoint_id = f"wh-{uuid.uuid4().hex[:16]}"
    with engine.begin() as conn:
        count = conn.execute(
            select(func.count())
            .select_from(webhook_endpoints)
            .where(webhook_endpoints.c.user_id == user_id)
        ).scalar_one()
        if count >= max_endpoints:
            raise WebhookError(
                ErrorKind.LIMIT_REACHED,
                f"a client has at most {max_endpoints} webhook endpoints; delete one first",
            )
        conn.execute(
            webhook_endpoints.insert().values(
                id=endpoint_id, user_id=user_id, url=url, secret=secret, created_at=now
            )
        )
    return EndpointWithSecret(Endpoint(endpoint_id, url, now, None), secret)


def endpoints_of(engine: Engine, user_id: str) -> list[Endpoint]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.user_id == user_id)
            .order_by(webhook_endpoints.c.created_at, webhook_endpoints.c.id)
        ).all()
    return [_endpoint(r) for r in rows]


def _mine(user_id: str, endpoint_id: str) -> ColumnElement[bool]:
    return and_(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.user_id == user_id)


def _not_found(endpoint_id: str) -> WebhookError:
    return WebhookError(ErrorKind.NOT_FOUND, f"webhook endpoint {endpoint_id} not found")


def rotate_secret(
    engine: Engine, user_id: str, endpoint_id: str, now: datetime
) -> EndpointWithSecret:
    """A new secret for the endpoint: every delivery from now on is signed with it."""
    secret = new_secret()
    with engine.begin() as conn:
        row = conn.execute(
            update(webhook_endpoints)
            .where(_mine(user_id, endpoint_id))
            .values(secret=secret, secret_rotated_at=now)
            .returning(*webhook_endpoints.c)
        ).first()
    if row is None:
        raise _not_found(endpoint_id)
    return EndpointWithSecret(_endpoint(row), secret)


def remove(engine: Engine, user_id: str, endpoint_id: str, now: datetime) -> None:
    """Delete the endpoint; what was still to be delivered to it is cancelled."""
    with engine.begin() as conn:
        gone = conn.execute(delete(webhook_endpoints).where(_mine(user_id, endpoint_id))).rowcount
        if not gone:
            raise _not_found(endpoint_id)
        conn.execute(
            update(deliveries)
            .where(
                deliveries.c.channel == "webhook",
                deliveries.c.target == endpoint_id,
                deliveries.c.status == "pending",
            )
            .values(status="cancelled", last_error="the endpoint was deleted", claimed_until=now)
        )


def delivery_log(
    engine: Engine, user_id: str, endpoint_id: str, limit: int, before_id: int | None
) -> tuple[list[LoggedAttempt], bool]:
    """Every attempt to deliver to the endpoint, newest first, and whether there are more."""
    with reading(engine) as conn:
        owned = select(webhook_endpoints.c.id).where(_mine(user_id, endpoint_id))
        if conn.execute(owned).first() is None:
            raise _not_found(endpoint_id)
        query = (
            select(
                delivery_attempts,
                deliveries.c.notification_id,
                notifications.c.kind,
            )
            .join(deliveries, deliveries.c.id == delivery_attempts.c.delivery_id)
            .join(notifications, notifications.c.id == deliveries.c.notification_id)
            .where(deliveries.c.channel == "webhook", deliveries.c.target == endpoint_id)
        )
        if before_id is not None:
            query = query.where(delivery_attempts.c.id < before_id)
        rows = conn.execute(query.order_by(delivery_attempts.c.id.desc()).limit(limit + 1)).all()
    return [
        LoggedAttempt(
            id=r.id,
            event_id=event_id(r.notification_id),
            notification_id=r.notification_id,
            kind=r.kind,
            attempt=r.attempt,
            at=r.at,
            outcome=r.outcome,
            status_code=r.status_code,
            error=r.error,
        )
        for r in rows[:limit]
    ], len(rows) > limit
