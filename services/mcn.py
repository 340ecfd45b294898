"""MCN membership by consent (rule C7): the creator asks, the MCN accepts or refuses.

A creator belongs to at most one MCN (`creators.mcn_id`), and only after that MCN accepted
its request. The creator may withdraw a request it made, and leave its MCN at any time.

Membership decides only who is paid for orders placed from then on: an order copies the
creator's MCN into its terms when it is placed (O8), so earnings already in the creator's
wallet, and those of orders placed before joining, stay the creator's to withdraw; orders
placed while a member pay the MCN even if the creator leaves before they are settled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import reading
from db.schema import creators, mcn_requests, users
from services.creators import CreatorError, ensure_creator
from workflows.errors import ErrorKind
from workflows.messages import Role


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class JoinRequest:
    id: str
    creator_id: str
    creator_name: str
    mcn_id: str
    mcn_name: str
    status: RequestStatus
    created_at: datetime
    decided_at: datetime | None


_creator_user = users.alias("creator_user")
_mcn_user = users.alias("mcn_user")


def _requests() -> Select[Any]:
    return (
        select(
            mcn_requests,
            _creator_user.c.display_name.label("creator_name"),
            _mcn_user.c.display_name.label("mcn_name"),
        )
        .join(_creator_user, _creator_user.c.id == mcn_requests.c.creator_id)
        .join(_mcn_user, _mcn_user.c.id == mcn_requests.c.mcn_id)
    )


def _request(row: Row[Any]) -> JoinRequest:
    return JoinRequest(
        id=row.id,
        creator_id=row.creator_id,
        creator_name=row.creator_name,
        mcn_id=row.mcn_id,
        mcn_name=row.mcn_name,
        status=RequestStatus(row.status),
        created_at=row.created_at,
        decided_at=row.decided_at,
    )


def _one(conn: Connection, request_id: str) -> JoinRequest:
    row = conn.execute(_requests().where(mcn_requests.c.id == request_id)).first()
    if row is None:
        raise CreatorError(ErrorKind.NOT_FOUND, f"MCN request {request_id} not found")
    return _request(row)


def _pending_of(conn: Connection, creator_id: str) -> JoinRequest | None:
    row = conn.execute(
        _requests().where(
            mcn_requests.c.creator_id == creator_id,
            mcn_requests.c.status == RequestStatus.PENDING.value,
        )
    ).first()
    return _request(row) if row is not None else None


def ask_to_join(engine: Engine, creator_id: str, mcn_id: str) -> JoinRequest:
    """The creator asks the MCN to take it on. Asking the same MCN again returns the open
    request; one request is open at a time, and a member must leave its MCN first."""
    ensure_creator(engine, creator_id)
    with reading(engine) as conn:
        role = conn.execute(select(users.c.role).where(users.c.id == mcn_id)).scalar()
    if role != Role.MCN.value:
        raise CreatorError(ErrorKind.NOT_FOUND, f"MCN {mcn_id} not found")
    try:
        with engine.begin() as conn:
            current = conn.execute(
                select(creators.c.mcn_id).where(creators.c.user_id == creator_id)
            ).scalar()
            if current == mcn_id:
                raise CreatorError(
                    ErrorKind.INVALID_STATE, f"you are already a member of MCN {mcn_id}"
                )
            if current is not None:
                raise CreatorError(
                    ErrorKind.INVALID_STATE,
                    f"you belong to MCN {current}: leave it before asking another",
                )
            pending = _pending_of(conn, creator_id)
            if pending is not None and pending.mcn_id == mcn_id:
                return pending  # a repeated request, not a second one
            if pending is not None:
                raise CreatorError(
                    ErrorKind.INVALID_STATE,
                    f"your request {pending.id} to MCN {pending.mcn_id} is still open: "
                    "withdraw it before asking another",
                )
            request_id = f"mcnreq-{uuid.uuid4().hex[:16]}"
            conn.execute(
                mcn_requests.insert().values(
                    id=request_id,
                    creator_id=creator_id,
                    mcn_id=mcn_id,
                    status=RequestStatus.PENDING.value,
                    created_at=datetime.now(UTC),
                )
            )
            return _one(conn, request_id)
    except IntegrityError as e:  # a concurrent request of the same creator got there first
        raise CreatorError(
            ErrorKind.INVALID_STATE, "you already have an open request to an MCN"
        ) from e


def withdraw(engine: Engine, creator_id: str, request_id: str) -> JoinRequest:
    """The creator takes back its open request; withdrawing it twice changes nothing."""
    with engine.begin() as conn:
        request = _one(conn, request_id)
        if request.creator_id != creator_id:
            raise CreatorError(ErrorKind.NOT_FOUND, f"MCN request {request_id} not found")
        return _decide(conn, request, RequestStatus.WITHDRAWN)


def answer(engine: Engine, mcn_id: str, request_id: str, accept: bool) -> JoinRequest:
    """The MCN accepts the creator (who is then its member) or refuses. Repeating the same
    answer changes nothing; changing an answer already given is refused."""
    with engine.begin() as conn:
        request = _one(conn, request_id)
        if request.mcn_id != mcn_id:
            raise CreatorError(ErrorKind.NOT_FOUND, f"MCN request {request_id} not found")
        decided = _decide(
            conn, request, RequestStatus.ACCEPTED if accept else RequestStatus.REFUSED
        )
        if accept and request.status is RequestStatus.PENDING:
            joined = conn.execute(
                update(creators)
                .where(creators.c.user_id == request.creator_id, creators.c.mcn_id.is_(None))
                .values(mcn_id=mcn_id)
            ).rowcount
            if not joined:  # cannot happen while one request is open at a time; never two MCNs
                raise CreatorError(ErrorKind.INVALID_STATE, "the creator already belongs to an MCN")
        return decided


def _decide(conn: Connection, request: JoinRequest, to: RequestStatus) -> JoinRequest:
    if request.status is to:
        return request
    if request.status is not RequestStatus.PENDING:
        raise CreatorError(
            ErrorKind.INVALID_STATE, f"MCN request {request.id} was already {request.status.value}"
        )
    changed = conn.execute(
        update(mcn_requests)
        .where(
            mcn_requests.c.id == request.id,
            mcn_requests.c.status == RequestStatus.PENDING.value,
        )
        .values(status=to.value, decided_at=datetime.now(UTC))
    ).rowcount
    if not changed:  # answered by a concurrent request since we read it
        raise CreatorError(
            ErrorKind.INVALID_STATE, f"MCN request {request.id} was answered meanwhile"
        )
    return _one(conn, request.id)


def leave(engine: Engine, creator_id: str) -> None:
    """The creator becomes independent: orders placed from now on pay the creator; those
    placed while a member still pay the MCN (their terms do not change)."""
    ensure_creator(engine, creator_id)
    with engine.begin() as conn:
        conn.execute(update(creators).where(creators.c.user_id == creator_id).values(mcn_id=None))


def requests_of_creator(engine: Engine, creator_id: str, limit: int) -> list[JoinRequest]:
    """The creator's requests, newest first: the open one and how earlier ones were answered."""
    query = (
        _requests()
        .where(mcn_requests.c.creator_id == creator_id)
        .order_by(mcn_requests.c.created_at.desc(), mcn_requests.c.id.desc())
        .limit(limit)
    )
    with reading(engine) as conn:
        return [_request(r) for r in conn.execute(query)]


def requests_to_mcn(
    engine: Engine, mcn_id: str, status: RequestStatus, limit: int
) -> list[JoinRequest]:
    """Requests addressed to the MCN, oldest first (first come, first answered)."""
    query = (
        _requests()
        .where(mcn_requests.c.mcn_id == mcn_id, mcn_requests.c.status == status.value)
        .order_by(mcn_requests.c.created_at, mcn_requests.c.id)
        .limit(limit)
    )
    with reading(engine) as conn:
        return [_request(r) for r in conn.execute(query)]
