"""A whole order over HTTP, end to end on the dev server, and the reads around it."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest
from sqlalchemy import func, select

from db import ledger
from db.schema import orders
from services import creators
from services.orders import OrderError, PlaceOrder
from tests.api.conftest import OPS, Api
from tests.stack import BRIEF, CLIENT, CLIENT_FUNDS, CREATOR, PRICE, REVIEWER
from workflows.messages import Actor


async def test_whole_order_over_http(api: Api) -> None:
    # rules O1 O4 O5 O6 O7 O8 A4
    order = await api.place(retention_days=45)
    order_id = order["id"]
    assert order["status"] == "awaiting_acceptance"
    assert order["your_actions"] == ["cancel"]
    assert order["total_fen"] == PRICE + PRICE * 5 // 100

    steps = [
        (CREATOR, "accept", None, "script_pending"),
        (
            CREATOR,
            "script",
            {"text": "Open on the wok; the best sauce in China."},
            "script_in_review",
        ),
        (
            REVIEWER,
            "script/review",
            {"approve": False, "reason": "absolute claim"},
            "script_pending",
        ),
        (CREATOR, "script", {"text": "Open on the wok."}, "script_in_review"),
        (REVIEWER, "script/review", {"approve": True}, "script_awaiting_client"),
        (CLIENT, "script/confirm", None, "video_pending"),
        (CREATOR, "video", {"video_id": "xg-1"}, "video_in_review"),
        (REVIEWER, "video/review", {"approve": True}, "video_awaiting_client"),
        (CLIENT, "video/reject", {"reason": "too dark"}, "video_pending"),
        (CREATOR, "video", {"video_id": "xg-2"}, "video_in_review"),
        (REVIEWER, "video/review", {"approve": True}, "video_awaiting_client"),
        (CLIENT, "video/confirm", None, "awaiting_publish"),
        (CLIENT, "publish", None, "published"),
        (CREATOR, "republish", {"video_id": "xg-3"}, "published"),
        (REVIEWER, "publication/review", {"approve": True, "video_id": "xg-3"}, "published"),
        (CLIENT, "accept-delivery", None, "in_retention"),
    ]
    for actor, path, body, status in steps:
        response = await api.act(actor, order_id, path, body)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == status, path

    got = (await api.http.get(f"/orders/{order_id}", headers=api.auth(CREATOR))).json()
    assert got["publications"][-1]["video_id"] == "xg-3"
    assert got["retention_days"] == 45
    assert got["your_actions"] == []
    assert ledger.balance(api.stack.engine, ledger.creator_account(CREATOR.id)) == PRICE

    timeline = (await api.http.get(f"/orders/{order_id}/timeline", headers=api.auth(CLIENT))).json()
    assert [e["to_status"] for e in timeline][-1] == "in_retention"
    rejection = next(e for e in timeline if e["reason"] == "absolute claim")
    assert (rejection["actor_id"], rejection["actor_role"]) == (REVIEWER.id, "reviewer")


async def test_review_queue_lists_waiting_work_oldest_first(api: Api) -> None:
    # rule O4
    first, second = await api.place(), await api.place()
    for order in (first, second):
        await api.act(CREATOR, order["id"], "accept")
    await api.act(CREATOR, second["id"], "script", {"text": "second"})
    await api.act(CREATOR, first["id"], "script", {"text": "first"})

    queue = await api.http.get("/reviews/queue?kind=script", headers=api.auth(REVIEWER))
    assert queue.status_code == 200
    assert [item["order_id"] for item in queue.json()["items"]] == [second["id"], first["id"]]
    videos = await api.http.get("/reviews/queue?kind=video", headers=api.auth(REVIEWER))
    assert videos.json() == {"items": [], "next_cursor": None}


async def test_my_orders_are_paginated_and_filtered_by_status(api: Api) -> None:
    placed = [await api.place() for _ in range(3)]
    await api.act(CLIENT, placed[0]["id"], "cancel", {"reason": "changed plans"})

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.http.get("/orders", params=params, headers=api.auth(CLIENT))).json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [o["id"] for o in reversed(placed)]  # newest first, each once

    cancelled = await api.http.get("/orders?status=cancelled", headers=api.auth(CLIENT))
    assert [o["id"] for o in cancelled.json()["items"]] == [placed[0]["id"]]


async def test_repeated_place_with_one_key_creates_one_order(api: Api) -> None:
    # rule A2
    body = {"creator_id": CREATOR.id, "product": "Tea", "requirements": "Pour it"}
    headers = api.auth(CLIENT) | {"Idempotency-Key": "place-tea-1"}
    first, second, third = await asyncio.gather(
        *(api.http.post("/orders", json=body, headers=headers) for _ in range(3))
    )
    assert first.status_code == second.status_code == third.status_code == 201
    order_id = first.json()["id"]
    api.stack.placed.append(order_id)
    assert second.json()["id"] == third.json()["id"] == order_id
    again = await api.http.post("/orders", json=body, headers=headers)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert ledger.transfer_count(api.stack.engine, order_id, "freeze") == 1
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == (
        CLIENT_FUNDS - PRICE - PRICE * 5 // 100
    )

    other = await api.http.post("/orders", json={**body, "product": "Coffee"}, headers=headers)
    assert other.status_code == 422
    assert "different request" in other.json()["detail"]


async def test_repeated_action_with_one_key_applies_once(api: Api) -> None:
    # rule A2
    order_id = (await api.place())["id"]
    first = await api.act(CREATOR, order_id, "accept", key="accept-1")
    again = await api.act(CREATOR, order_id, "accept", key="accept-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    timeline = (
        await api.http.get(f"/orders/{order_id}/timeline", headers=api.auth(CREATOR))
    ).json()
    assert [e["action"] for e in timeline].count("accept") == 1
    # Without the key, accepting again is a new request, refused by the order's state.
    fresh = await api.act(CREATOR, order_id, "accept")
    assert fresh.status_code == 409


def order_count(api: Api) -> int:
    with api.stack.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(orders)).scalar_one())


async def test_placing_without_an_idempotency_key_answers_422_and_places_nothing(api: Api) -> None:
    # rules A2 A1: a placement that could not be repeated safely is not taken
    body = {"creator_id": CREATOR.id, "product": "Tea", "requirements": "Pour it"}
    response = await api.http.post("/orders", json=body, headers=api.auth(CLIENT))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert order_count(api) == 0
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS


async def test_an_order_at_a_price_no_longer_quoted_is_refused_and_freezes_nothing(
    api: Api,
) -> None:
    # rule O1: the client may state the price it saw; a changed quote refuses the order
    body = {"creator_id": CREATOR.id, "product": "Tea", "requirements": "Pour it"}
    creators.set_quote(api.stack.engine, CREATOR.id, PRICE + 1)
    stale = await api.http.post(
        "/orders", json={**body, "price_fen": PRICE}, headers=api.keyed(CLIENT)
    )
    assert stale.status_code == 409
    assert f"quote is now {PRICE + 1} fen, not the {PRICE} fen you saw" in stale.json()["detail"]
    assert order_count(api) == 0
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS

    seen = await api.http.post(
        "/orders", json={**body, "price_fen": PRICE + 1}, headers=api.keyed(CLIENT)
    )
    assert seen.status_code == 201, seen.text
    api.stack.placed.append(seen.json()["id"])
    assert seen.json()["price_fen"] == PRICE + 1


async def test_a_retried_placement_keeps_the_price_it_was_placed_at(api: Api) -> None:
    # rules O1 A2: a repeat of an order already placed joins it, even after the quote moved
    service, order_id = api.stack.service, uuid.uuid4().hex
    request = PlaceOrder(
        client_id=CLIENT.id, creator_id=CREATOR.id, brief=BRIEF, order_id=order_id, price_fen=PRICE
    )
    api.stack.placed.append(order_id)
    first = await service.place(request)
    creators.set_quote(api.stack.engine, CREATOR.id, PRICE * 2)
    again = await service.place(request)
    assert again.terms == first.terms
    assert again.terms.price_fen == PRICE
    assert ledger.transfer_count(api.stack.engine, order_id, "freeze") == 1
    # A new order at the old price is refused: only the retry was let through.
    with pytest.raises(OrderError) as refused:
        await service.place(dataclasses.replace(request, order_id=uuid.uuid4().hex))
    assert refused.value.kind == "PriceChanged"


async def test_each_caller_is_told_every_action_it_may_take_now_ops_included(api: Api) -> None:
    # rules P2 D1: ops may act on any open order though it does not wait for them
    order_id = str((await api.place())["id"])

    async def actions_of(actor: Actor) -> set[str]:
        response = await api.http.get(f"/orders/{order_id}", headers=api.auth(actor))
        assert response.status_code == 200, response.text
        return set(response.json()["your_actions"])

    assert await actions_of(OPS) == {"move_deadline", "ops_cancel"}
    assert await actions_of(CREATOR) == {"accept", "decline"}
    assert await actions_of(CLIENT) == {"cancel"}
    cancelled = await api.act(OPS, order_id, "ops-cancel", {"reason": "fraud report"})
    assert cancelled.status_code == 200, cancelled.text
    assert await actions_of(OPS) == set()
