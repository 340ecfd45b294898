"""Binding (C1) and MCN membership (C7) on SQLite and PostgreSQL: what the database holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from adapters.video_platform import AccountOwner, LoginPlatform, SimulatedVideoPlatform
from db.schema import mcn_requests
from scripts.seed import ELIGIBLE
from services import creators, mcn
from services.creators import CreatorError
from services.users import create_user
from workflows.messages import Role

DOUYIN = LoginPlatform.DOUYIN


def test_one_xigua_account_binds_to_one_creator_on_every_database(engine: Engine) -> None:
    # rule C1
    platform = SimulatedVideoPlatform(engine)
    platform.set_account(
        "xg-shared", ELIGIBLE, AccountOwner(login_platform=DOUYIN, login_account="dy-s")
    )
    for creator_id in ("c-1", "c-2"):
        create_user(engine, creator_id, Role.CREATOR, creator_id)
    creators.bind_xigua_account(engine, platform, "c-1", DOUYIN, "dy-s", "xg-shared")
    with pytest.raises(CreatorError, match="bound to another creator") as refused:
        creators.bind_xigua_account(engine, platform, "c-2", DOUYIN, "dy-s", "xg-shared")
    assert refused.value.kind == "Conflict"
    assert creators.profile(engine, "c-2").xigua_account_id is None
    creators.unbind_xigua_account(engine, "c-1")
    creators.bind_xigua_account(engine, platform, "c-2", DOUYIN, "dy-s", "xg-shared")
    assert creators.profile(engine, "c-2").xigua_account_id == "xg-shared"


def test_the_database_holds_one_open_mcn_request_per_creator(engine: Engine) -> None:
    # rule C7: against two racing requests, not only the service's check
    create_user(engine, "c-1", Role.CREATOR, "c-1")
    for mcn_id in ("m-1", "m-2"):
        create_user(engine, mcn_id, Role.MCN, mcn_id)

    def insert(request_id: str, mcn_id: str, status: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                mcn_requests.insert().values(
                    id=request_id,
                    creator_id="c-1",
                    mcn_id=mcn_id,
                    status=status,
                    created_at=datetime.now(UTC),
                )
            )

    insert("r-1", "m-1", "refused")
    insert("r-2", "m-1", "pending")
    with pytest.raises(IntegrityError):
        insert("r-3", "m-2", "pending")
    insert("r-4", "m-2", "withdrawn")


def test_membership_follows_the_mcns_answer_on_every_database(engine: Engine) -> None:
    # rule C7
    create_user(engine, "c-1", Role.CREATOR, "Chef")
    create_user(engine, "m-1", Role.MCN, "Star MCN")
    request = mcn.ask_to_join(engine, "c-1", "m-1")
    assert (request.creator_name, request.mcn_name) == ("Chef", "Star MCN")
    assert creators.profile(engine, "c-1").mcn_id is None
    assert [r.id for r in mcn.requests_to_mcn(engine, "m-1", mcn.RequestStatus.PENDING, 10)] == [
        request.id
    ]
    with pytest.raises(CreatorError, match="not found"):
        mcn.answer(engine, "m-2", request.id, accept=True)
    accepted = mcn.answer(engine, "m-1", request.id, accept=True)
    assert accepted.status is mcn.RequestStatus.ACCEPTED
    assert creators.profile(engine, "c-1").mcn_id == "m-1"
    mcn.leave(engine, "c-1")
    assert creators.profile(engine, "c-1").mcn_id is None
    assert [r.status for r in mcn.requests_of_creator(engine, "c-1", 10)] == [
        mcn.RequestStatus.ACCEPTED
    ]
