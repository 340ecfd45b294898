"""MCN membership by consent (C7): the creator asks, the MCN accepts or refuses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ContextDep, CurrentUser, require
from api.errors import from_refusal
from api.routes.creators import creator_of, profile
from api.schemas import CreatorProfile, JoinMcnBody, McnRequestPublic, problem_responses
from services import mcn
from services.creators import CreatorError
from services.mcn import JoinRequest, RequestStatus
from workflows.messages import Id, Role

router = APIRouter(tags=["mcn"])
ERRORS = problem_responses(401, 403, 404, 409, 422)
RequestId = Annotated[Id, Path()]
Limit = Annotated[int, Query(ge=1, le=100)]


def _public(request: JoinRequest) -> McnRequestPublic:
    return McnRequestPublic(
        id=request.id,
        creator_id=request.creator_id,
        creator_name=request.creator_name,
        mcn_id=request.mcn_id,
        mcn_name=request.mcn_name,
        status=request.status.value,
        created_at=request.created_at,
        decided_at=request.decided_at,
    )


# --- the creator's side ---


@router.post(
    "/creators/me/mcn-requests", status_code=201, response_model=McnRequestPublic, responses=ERRORS
)
def ask_to_join(body: JoinMcnBody, user: CurrentUser, context: ContextDep) -> McnRequestPublic:
    """Ask an MCN to take you on; you join when it accepts. One open request at a time; asking
    the same MCN again returns the open request."""
    creator_id = creator_of(user, context)
    try:
        return _public(mcn.ask_to_join(context.engine, creator_id, body.mcn_id))
    except CreatorError as e:
        raise from_refusal(e) from e


@router.get("/creators/me/mcn-requests", response_model=list[McnRequestPublic], responses=ERRORS)
def my_requests(
    user: CurrentUser, context: ContextDep, limit: Limit = 20
) -> list[McnRequestPublic]:
    """Your requests to MCNs, newest first, with each MCN's answer."""
    creator_id = creator_of(user, context)
    return [_public(r) for r in mcn.requests_of_creator(context.engine, creator_id, limit)]


@router.post(
    "/creators/me/mcn-requests/{request_id}/withdraw",
    response_model=McnRequestPublic,
    responses=ERRORS,
)
def withdraw(request_id: RequestId, user: CurrentUser, context: ContextDep) -> McnRequestPublic:
    """Take back a request the MCN has not answered yet."""
    creator_id = creator_of(user, context)
    try:
        return _public(mcn.withdraw(context.engine, creator_id, request_id))
    except CreatorError as e:
        raise from_refusal(e) from e


@router.delete("/creators/me/mcn", response_model=CreatorProfile, responses=ERRORS)
def leave(user: CurrentUser, context: ContextDep) -> CreatorProfile:
    """Leave your MCN: orders placed from now on pay you; those placed before still pay it."""
    creator_id = creator_of(user, context)
    mcn.leave(context.engine, creator_id)
    return profile(context, creator_id)


# --- the MCN's side ---


@router.get("/mcn/requests", response_model=list[McnRequestPublic], responses=ERRORS)
def requests_to_me(
    user: CurrentUser,
    context: ContextDep,
    status: RequestStatus = RequestStatus.PENDING,
    limit: Limit = 50,
) -> list[McnRequestPublic]:
    """MCN: creators' requests to join you with this status (open ones by default), oldest
    first."""
    require(user, Role.MCN)
    return [_public(r) for r in mcn.requests_to_mcn(context.engine, user.id, status, limit)]


@router.post("/mcn/requests/{request_id}/accept", response_model=McnRequestPublic, responses=ERRORS)
def accept(request_id: RequestId, user: CurrentUser, context: ContextDep) -> McnRequestPublic:
    """MCN: take the creator on; orders placed with it from now on pay you."""
    return _answer(request_id, user, context, accept=True)


@router.post("/mcn/requests/{request_id}/refuse", response_model=McnRequestPublic, responses=ERRORS)
def refuse(request_id: RequestId, user: CurrentUser, context: ContextDep) -> McnRequestPublic:
    """MCN: decline the creator, who stays independent."""
    return _answer(request_id, user, context, accept=False)


def _answer(
    request_id: str, user: CurrentUser, context: ContextDep, accept: bool
) -> McnRequestPublic:
    require(user, Role.MCN)
    try:
        return _public(mcn.answer(context.engine, user.id, request_id, accept))
    except CreatorError as e:
        raise from_refusal(e) from e
