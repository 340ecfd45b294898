"""What ordering a creator costs, before ordering (O1): the quote, the fee and the total that
placing freezes, by the rule placing itself uses."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.stack import CLIENT, CREATOR, PRICE


async def test_the_price_shown_before_ordering_is_what_placing_freezes(api: Api) -> None:
    # rule O1
    quote = (await api.http.get(f"/creators/{CREATOR.id}/price", headers=api.auth(CLIENT))).json()
    assert quote == {
        "creator_id": CREATOR.id,
        "price_fen": PRICE,
        "fee_fen": api.stack.fee,
        "total_fen": PRICE + api.stack.fee,
    }
    order = await api.place(price_fen=quote["price_fen"])
    assert (order["price_fen"], order["fee_fen"], order["total_fen"]) == (
        quote["price_fen"],
        quote["fee_fen"],
        quote["total_fen"],
    )


async def test_no_price_for_a_creator_not_in_the_square(api: Api) -> None:
    # rules S1 A1
    answer = await api.http.get("/creators/nobody/price", headers=api.auth(CLIENT))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert (await api.http.get(f"/creators/{CREATOR.id}/price")).status_code == 401
