"""MCN membership by consent over HTTP (rule C7), and what it does to who is paid (O8)."""

from __future__ import annotations

from typing import Any

import httpx

from db import ledger
from services.auth import set_password
from services.users import create_user
from tests.api.conftest import PASSWORD, Api
from tests.api.test_api_creators import newcomer
from tests.api.test_api_wallets import BANK, deliver, earn
from tests.stack import CLIENT, CREATOR, MCN, MCN_CREATOR, PRICE
from workflows.messages import Actor, Role

OTHER_MCN = Actor(id="mcn-2", role=Role.MCN)


async def ask(api: Api, creator: Actor, mcn_id: str) -> httpx.Response:
    return await api.http.post(
        "/creators/me/mcn-requests", json={"mcn_id": mcn_id}, headers=api.auth(creator)
    )


async def pending_for(api: Api, mcn: Actor, headers: dict[str, str] | None = None) -> list[Any]:
    response = await api.http.get("/mcn/requests", headers=headers or api.auth(mcn))
    assert response.status_code == 200, response.text
    return list(response.json())


async def answer(api: Api, mcn: Actor, request_id: str, verdict: str) -> httpx.Response:
    return await api.http.post(f"/mcn/requests/{request_id}/{verdict}", headers=api.auth(mcn))


async def mcn_of(api: Api, creator: Actor) -> str | None:
    profile = (await api.http.get("/creators/me", headers=api.auth(creator))).json()
    return profile["mcn_id"]  # type: ignore[no-any-return]


async def test_joining_an_mcn_takes_the_mcns_consent(api: Api) -> None:
    # rule C7
    asked = await ask(api, CREATOR, MCN.id)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert (request["creator_id"], request["mcn_id"], request["status"]) == (
        CREATOR.id,
        MCN.id,
        "pending",
    )
    # Asking is not joining: not a member, not shown as one, not paying the MCN.
    assert await mcn_of(api, CREATOR) is None
    card = (await api.http.get(f"/creators/{CREATOR.id}", headers=api.auth(CLIENT))).json()
    assert card["in_mcn"] is False
    order = await api.place(skip_script=True)
    assert (await pending_for(api, MCN)) == [request]

    accepted = await answer(api, MCN, request["id"], "accept")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["decided_at"] is not None
    assert await mcn_of(api, CREATOR) == MCN.id
    assert await pending_for(api, MCN) == []
    # The same answer again changes nothing; another answer is refused.
    assert (await answer(api, MCN, request["id"], "accept")).json() == accepted.json()
    changed = await answer(api, MCN, request["id"], "refuse")
    assert changed.status_code == 409
    assert changed.json()["detail"] == f"MCN request {request['id']} was already accepted"
    # The order placed before joining keeps paying the creator.
    await deliver(api, str(order["id"]))
    assert ledger.balance(api.stack.engine, ledger.creator_account(CREATOR.id)) == PRICE
    assert ledger.balance(api.stack.engine, ledger.mcn_account(MCN.id)) == 0


async def test_an_mcn_may_refuse_and_the_creator_stays_independent(api: Api) -> None:
    # rule C7
    request = (await ask(api, CREATOR, MCN.id)).json()
    refused = await answer(api, MCN, request["id"], "refuse")
    assert refused.status_code == 200
    assert refused.json()["status"] == "refused"
    assert await mcn_of(api, CREATOR) is None
    late = await answer(api, MCN, request["id"], "accept")
    assert late.status_code == 409
    assert await mcn_of(api, CREATOR) is None

    # The creator sees the answer, may ask again, and may take a request back.
    mine = (await api.http.get("/creators/me/mcn-requests", headers=api.auth(CREATOR))).json()
    assert [(r["id"], r["status"]) for r in mine] == [(request["id"], "refused")]
    again = (await ask(api, CREATOR, MCN.id)).json()
    assert again["id"] != request["id"]
    withdrawn = await api.http.post(
        f"/creators/me/mcn-requests/{again['id']}/withdraw", headers=api.auth(CREATOR)
    )
    assert withdrawn.json()["status"] == "withdrawn"
    assert await pending_for(api, MCN) == []
    assert (await answer(api, MCN, again["id"], "accept")).status_code == 409
    assert await mcn_of(api, CREATOR) is None


async def test_one_open_request_at_a_time_and_a_member_leaves_before_asking_another(
    api: Api,
) -> None:
    # rule C7
    create_user(api.stack.engine, OTHER_MCN.id, Role.MCN, "Other MCN")
    first = (await ask(api, CREATOR, MCN.id)).json()
    assert (await ask(api, CREATOR, MCN.id)).json() == first  # a repeat, not a second request
    second = await ask(api, CREATOR, OTHER_MCN.id)
    assert second.status_code == 409
    assert f"your request {first['id']} to MCN {MCN.id} is still open" in second.json()["detail"]
    for not_an_mcn in ("no-such-mcn", CLIENT.id, MCN_CREATOR.id):
        assert (await ask(api, CREATOR, not_an_mcn)).status_code == 404, not_an_mcn

    # A member of one MCN cannot ask another until it leaves.
    member = await ask(api, MCN_CREATOR, OTHER_MCN.id)
    assert member.status_code == 409
    assert member.json()["detail"] == f"you belong to MCN {MCN.id}: leave it before asking another"
    left = await api.http.delete("/creators/me/mcn", headers=api.auth(MCN_CREATOR))
    assert left.status_code == 200
    assert left.json()["mcn_id"] is None
    assert (await ask(api, MCN_CREATOR, OTHER_MCN.id)).status_code == 201


async def test_each_side_reaches_only_its_own_requests(api: Api) -> None:
    # rule A1
    create_user(api.stack.engine, OTHER_MCN.id, Role.MCN, "Other MCN")
    set_password(api.stack.engine, OTHER_MCN.id, OTHER_MCN.id, PASSWORD)
    token = await api.http.post(
        "/auth/token", data={"username": OTHER_MCN.id, "password": PASSWORD}
    )
    other_mcn = {"Authorization": f"Bearer {token.json()['access_token']}"}
    request = (await ask(api, CREATOR, MCN.id)).json()

    assert await pending_for(api, OTHER_MCN, headers=other_mcn) == []
    for verdict in ("accept", "refuse"):
        stranger = await api.http.post(
            f"/mcn/requests/{request['id']}/{verdict}", headers=other_mcn
        )
        assert stranger.status_code == 404
    stranger_creator = await newcomer(api)
    taken_back = await api.http.post(
        f"/creators/me/mcn-requests/{request['id']}/withdraw", headers=stranger_creator
    )
    assert taken_back.status_code == 404
    assert (await api.http.get("/mcn/requests", headers=api.auth(CREATOR))).status_code == 403
    assert (await ask(api, MCN, MCN.id)).status_code == 403
    assert (await answer(api, CLIENT, request["id"], "accept")).status_code == 403
    assert (await pending_for(api, MCN))[0]["status"] == "pending"
    assert await mcn_of(api, CREATOR) is None


async def test_a_creator_who_joins_an_mcn_can_still_withdraw_earlier_earnings(api: Api) -> None:
    # rule C7: what was credited before joining stays the creator's; later orders pay the MCN
    await earn(api)
    request = (await ask(api, CREATOR, MCN.id)).json()
    assert (await answer(api, MCN, request["id"], "accept")).status_code == 200
    await earn(api)  # placed after joining: pays the MCN
    assert ledger.balance(api.stack.engine, ledger.mcn_account(MCN.id)) == PRICE

    paid = await api.http.post(
        "/wallet/withdrawals",
        json={"amount_fen": PRICE, "bank_account": BANK},
        headers=api.auth(CREATOR) | {"Idempotency-Key": "before-joining"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "succeeded"
    assert ledger.balance(api.stack.engine, ledger.creator_account(CREATOR.id)) == 0
    # The MCN's share is the MCN's: the creator cannot take it.
    more = await api.http.post(
        "/wallet/withdrawals",
        json={"amount_fen": 1, "bank_account": BANK},
        headers=api.auth(CREATOR),
    )
    assert more.status_code == 409
    assert ledger.balance(api.stack.engine, ledger.mcn_account(MCN.id)) == PRICE
