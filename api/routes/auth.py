"""Sign-up, login and the caller's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from starlette.concurrency import run_in_threadpool

from api import limits
from api.deps import BearerToken, ContextDep, CurrentUser
from api.errors import ApiError
from api.schemas import ContactBody, Problem, SignUp, Token, UserPublic
from services import auth, creators
from services.auth import User
from workflows.bounds import no_control
from workflows.errors import ErrorKind

router = APIRouter(tags=["identity"])


def public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id, username=user.username, role=user.role, display_name=user.display_name
    )


@router.post(
    "/auth/signup",
    status_code=201,
    response_model=UserPublic,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
)
async def sign_up(body: SignUp, context: ContextDep) -> UserPublic:
    """Create a client, creator or MCN account (reviewers and ops are made by an admin).

    The username is kept in lower case; one that differs from a taken one only in case is
    taken too (409)."""
    try:
        user = await run_in_threadpool(
            auth.sign_up, context.engine, body.username, body.password, body.role, body.display_name
        )
    except auth.UsernameTaken as e:
        raise ApiError(ErrorKind.CONFLICT, f"the username {e.username!r} is taken") from e
    return public(user)


@router.post(
    "/auth/token",
    response_model=Token,
    responses={
        422: {"model": Problem},
        401: {"model": Problem},
        429: {
            "model": Problem,
            "description": "Too many failed logins for this username from this address "
            "(the wait doubles with each), or from this address for any username",
            "headers": {
                "Retry-After": {
                    "description": "seconds until the next attempt is allowed",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
)
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], context: ContextDep, request: Request
) -> Token:
    """Exchange username and password (OAuth2 password flow) for a bearer token.

    Repeated failures for one username from one address wait longer each time (429 with
    Retry-After); from another address the same user logs in as usual. Usernames are
    compared folded: case and full-width forms do not matter."""
    try:
        no_control(form.username)  # no username has one, and PostgreSQL refuses a NUL
    except ValueError as e:
        raise ApiError(ErrorKind.INVALID_INPUT, f"username: {e}") from e
    limiter = limits.login_limiter(request.app)
    # Counted before the password is checked, so concurrent guesses cannot overtake the limit.
    attempt = limiter.begin(form.username, limits.client_address(request))
    try:
        user = await run_in_threadpool(
            auth.authenticate, context.engine, form.username, form.password
        )
    except BaseException:
        limiter.abandon(attempt)  # the check could not run (database down): not a failure
        raise
    if user is None:
        raise ApiError(
            ErrorKind.UNAUTHENTICATED, "wrong username or password"
        )  # the attempt stays counted
    limiter.succeeded(attempt)
    token, expires_at = await run_in_threadpool(
        auth.issue_token,
        context.engine,
        context.settings.token_secret,
        user,
        context.settings.token_ttl,
    )
    return Token(access_token=token, expires_at=expires_at)


@router.post("/auth/logout", status_code=204, responses={401: {"model": Problem}})
def log_out(user: CurrentUser, token: BearerToken, context: ContextDep) -> None:
    """Revoke the token this request was made with."""
    del user  # resolved only to refuse a missing or expired token with 401
    if token:
        auth.revoke_token(context.engine, context.settings.token_secret, token)


@router.get("/me", response_model=UserPublic, responses={401: {"model": Problem}})
async def me(user: CurrentUser) -> UserPublic:
    """The account behind the token."""
    return public(user)


@router.put(
    "/me/contact",
    status_code=204,
    responses={401: {"model": Problem}, 422: {"model": Problem}},
)
def set_contact(body: ContactBody, user: CurrentUser, context: ContextDep) -> None:
    """Give your real phone and e-mail; the other side of an order sees a virtual number."""
    creators.set_contact(context.engine, user.id, body.phone, body.email)
