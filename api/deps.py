"""Typed dependencies: the app context, the order service, the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from api.context import AppContext
from api.errors import ApiError
from services import auth
from services.auth import User
from services.orders import OrderService
from workflows.errors import ErrorKind
from workflows.messages import Role

oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_orders(context: ContextDep) -> OrderService:
    return await context.orders()


OrdersDep = Annotated[OrderService, Depends(get_orders)]


def current_user(context: ContextDep, token: Annotated[str | None, Depends(oauth2)]) -> User:
    # A plain def, so FastAPI runs it in its thread pool: on PostgreSQL the lookup is a network
    # round trip (a connect, when the database is away) that must not hold up the event loop.
    if not token:
        raise ApiError(
            ErrorKind.UNAUTHENTICATED, "not authenticated: send Authorization: Bearer <token>"
        )
    user = auth.user_for_token(context.engine, context.settings.token_secret, token)
    if user is None:
        raise ApiError(
            ErrorKind.UNAUTHENTICATED, "the token is invalid or has expired; log in again"
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]
BearerToken = Annotated[str | None, Depends(oauth2)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a request with the same key to get the first response again.",
    ),
]
# Placing is the one request a keyless repeat would duplicate (a second order, a second
# freeze), and the one a client must be able to repeat after a 503: so it needs a key.
RequiredIdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Required: any string unique to this order, such as a UUID. Repeating the "
        "request with the same key returns the same order, never a second one; after a 503 it "
        "returns the outcome of the first attempt.",
    ),
]


def require(user: User, *roles: Role) -> None:
    if user.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        raise ApiError(ErrorKind.FORBIDDEN, f"only a {allowed} may do this; you are a {user.role}")
