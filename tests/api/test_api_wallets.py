"""Wallets over HTTP: top-ups through the payment provider, statements, withdrawals (O8)."""

from __future__ import annotations

import asyncio

from adapters.payments import SimulatedPaymentRails
from db import ledger
from services.wallets import EXTERNAL_PAYOUTS
from tests.api.conftest import Api
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, MCN, MCN_CREATOR, PRICE, REVIEWER
from workflows.messages import Actor

BANK = "6222020200112233445"


async def earn(api: Api, creator: Actor = CREATOR) -> str:
    """A real order, placed and accepted, so the creator (or its MCN) is paid the price."""
    order_id = str((await api.place(creator_id=creator.id, skip_script=True))["id"])
    await deliver(api, order_id, creator)
    return order_id


async def deliver(api: Api, order_id: str, creator: Actor = CREATOR) -> None:
    """Take a placed order without a script phase to the client's acceptance of the delivery."""
    for actor, path, body in [
        (creator, "accept", None),
        (creator, "video", {"video_id": f"v-{order_id}"}),
        (REVIEWER, "video/review", {"approve": True}),
        (CLIENT, "video/confirm", None),
        (CLIENT, "publish", None),
        (CLIENT, "accept-delivery", None),
    ]:
        response = await api.act(actor, order_id, path, body)
        assert response.status_code == 200, (path, response.text)


async def test_a_top_up_charges_once_and_shows_on_the_statement(api: Api) -> None:
    headers = api.auth(CLIENT) | {"Idempotency-Key": "top-up-1"}
    first, second = await asyncio.gather(
        api.http.post("/wallet/top-ups", json={"amount_fen": 50_000}, headers=headers),
        api.http.post("/wallet/top-ups", json={"amount_fen": 50_000}, headers=headers),
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "succeeded"
    wallet = (await api.http.get("/wallet", headers=api.auth(CLIENT))).json()
    assert wallet == {"account": f"client:{CLIENT.id}", "balance_fen": CLIENT_FUNDS + 50_000}
    lines = (await api.http.get("/wallet/statement", headers=api.auth(CLIENT))).json()["items"]
    assert [(line["kind"], line["amount_fen"]) for line in lines] == [
        ("topup", 50_000),
        ("topup", CLIENT_FUNDS),
    ]


async def test_a_declined_card_credits_nothing(api: Api) -> None:
    response = await api.http.post(
        "/wallet/top-ups", json={"amount_fen": 60_000_000}, headers=api.auth(CLIENT)
    )
    assert response.status_code == 402
    assert "declined" in response.json()["detail"]
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS


async def test_a_creator_withdraws_its_earnings_once(api: Api) -> None:
    # rule O8
    await earn(api)
    headers = api.auth(CREATOR) | {"Idempotency-Key": "withdraw-1"}
    body = {"amount_fen": PRICE, "bank_account": BANK}
    responses = await asyncio.gather(
        *(api.http.post("/wallet/withdrawals", json=body, headers=headers) for _ in range(3))
    )
    assert {r.status_code for r in responses} == {201}
    assert {r.json()["status"] for r in responses} == {"succeeded"}
    assert ledger.balance(api.stack.engine, ledger.creator_account(CREATOR.id)) == 0
    assert ledger.balance(api.stack.engine, EXTERNAL_PAYOUTS) == PRICE
    assert SimulatedPaymentRails(api.stack.engine).requests_made("payout") == 1
    too_much = await api.http.post(
        "/wallet/withdrawals", json={**body, "amount_fen": 1}, headers=api.auth(CREATOR)
    )
    assert too_much.status_code == 409
    assert "insufficient balance" in too_much.json()["detail"]


async def test_a_refused_payout_returns_the_money(api: Api) -> None:
    # rule O8
    await earn(api)
    response = await api.http.post(
        "/wallet/withdrawals",
        json={"amount_fen": PRICE, "bank_account": "0000111122223333"},
        headers=api.auth(CREATOR),
    )
    assert response.status_code == 201
    assert response.json()["status"] == "failed"
    assert "refused" in response.json()["failure"]
    assert ledger.balance(api.stack.engine, ledger.creator_account(CREATOR.id)) == PRICE
    lines = (await api.http.get("/wallet/statement", headers=api.auth(CREATOR))).json()["items"]
    assert [line["kind"] for line in lines][:2] == ["withdrawal_returned", "withdrawal_hold"]


async def test_orders_of_an_mcn_creator_pay_the_mcn_which_sees_earnings_per_creator(
    api: Api,
) -> None:
    # rule O8
    await earn(api, MCN_CREATOR)
    await earn(api, MCN_CREATOR)
    nothing = await api.http.post(
        "/wallet/withdrawals",
        json={"amount_fen": 1, "bank_account": BANK},
        headers=api.auth(MCN_CREATOR),
    )
    assert nothing.status_code == 409
    assert "insufficient balance" in nothing.json()["detail"]
    assert ledger.balance(api.stack.engine, ledger.creator_account(MCN_CREATOR.id)) == 0
    earnings = (await api.http.get("/mcn/earnings", headers=api.auth(MCN))).json()
    assert earnings == [{"creator_id": MCN_CREATOR.id, "orders": 2, "earned_fen": 2 * PRICE}]
    paid = await api.http.post(
        "/wallet/withdrawals",
        json={"amount_fen": 2 * PRICE, "bank_account": BANK},
        headers=api.auth(MCN),
    )
    assert paid.json()["status"] == "succeeded"
    assert ledger.balance(api.stack.engine, ledger.mcn_account(MCN.id)) == 0
    assert (await api.http.get("/mcn/earnings", headers=api.auth(CLIENT))).status_code == 403
