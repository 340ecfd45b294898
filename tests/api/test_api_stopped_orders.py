"""Orders whose workflow ops stopped in Temporal, over HTTP on the dev server: a cancellation
request, a terminate. Nothing answers 500."""

from __future__ import annotations

import io

from db import ledger
from scripts.admin import stranded_orders
from tests.api.conftest import OPS, Api
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, OTHER_CLIENT, REVIEWER


async def to_script_in_review(api: Api) -> str:
    order_id = str((await api.place())["id"])
    assert (await api.act(CREATOR, order_id, "accept")).status_code == 200
    response = await api.act(CREATOR, order_id, "script", {"text": "Open on the wok."})
    assert response.json()["status"] == "script_in_review", response.text
    return order_id


async def test_actions_on_a_terminated_order_answer_409_until_ops_settle_it(api: Api) -> None:
    # rules A1 P2 A3
    order_id = await to_script_in_review(api)
    await api.stack.handle(order_id).terminate("pressed Terminate in the Web UI")

    refused = await api.act(REVIEWER, order_id, "script/review", {"approve": True})
    assert refused.status_code == 409, refused.text
    assert "stopped by operations" in refused.json()["detail"]
    stranger = await api.act(OTHER_CLIENT, order_id, "script/confirm")
    assert stranger.status_code == 404, stranger.text
    seen = await api.http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))
    assert seen.status_code == 200, seen.text

    out = io.StringIO()
    refunded = await stranded_orders(api.stack.client, api.stack.engine, True, out)
    assert refunded == int(seen.json()["total_fen"]), out.getvalue()
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS

    seen = await api.http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))
    assert seen.status_code == 200, seen.text
    assert (seen.json()["status"], seen.json()["your_actions"]) == ("cancelled", [])
    timeline = await api.http.get(f"/orders/{order_id}/timeline", headers=api.auth(OPS))
    last = timeline.json()[-1]
    assert (last["action"], last["actor_role"], last["to_status"]) == (
        "ops_cancel",
        "ops",
        "cancelled",
    )
    again = await api.act(REVIEWER, order_id, "script/review", {"approve": True})
    assert again.status_code == 409, again.text
    assert "cancelled" in again.json()["detail"]


async def test_a_cancel_request_from_the_web_ui_ends_the_order_refunded(api: Api) -> None:
    # rules P2 A1 A3 A4
    order_id = await to_script_in_review(api)
    handle = api.stack.handle(order_id)
    await handle.cancel(reason="asked by the client on the phone")
    assert (await handle.result()).status == "cancelled"

    seen = await api.http.get(f"/orders/{order_id}", headers=api.auth(CREATOR))
    assert (seen.status_code, seen.json()["status"]) == (200, "cancelled")
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS
    refused = await api.act(REVIEWER, order_id, "script/review", {"approve": True})
    assert refused.status_code == 409, refused.text
    timeline = await api.http.get(f"/orders/{order_id}/timeline", headers=api.auth(CLIENT))
    assert timeline.json()[-1]["action"] == "ops_cancel"
