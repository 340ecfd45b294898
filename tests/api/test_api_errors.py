"""Each class of error answers with its status and a plain reason; never a trace (A1)."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from config import Settings
from tests.api.conftest import Api, api_settings
from tests.stack import CLIENT, CREATOR, OTHER_CLIENT, OTHER_CREATOR


async def test_wrong_state_answers_409_with_the_workflows_reason(api: Api) -> None:
    # rule A1
    order_id = (await api.place())["id"]
    response = await api.act(CLIENT, order_id, "publish")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "it is awaiting_acceptance" in detail
    assert "creator may accept, decline" in detail
    assert (await api.http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))).json()[
        "status"
    ] == "awaiting_acceptance"


async def test_unknown_and_foreign_orders_answer_404(api: Api) -> None:
    # rule A1
    order_id = (await api.place())["id"]
    for actor, url in [
        (CLIENT, "/orders/no-such-order"),
        (OTHER_CLIENT, f"/orders/{order_id}"),
        (OTHER_CREATOR, f"/orders/{order_id}/timeline"),
    ]:
        response = await api.http.get(url, headers=api.auth(actor))
        assert response.status_code == 404
        assert response.json()["detail"] == f"order {url.split('/')[2]} not found"


async def test_malformed_input_answers_422_with_the_field_errors(api: Api) -> None:
    # rule A1
    order_id = (await api.place())["id"]
    cases = [
        (
            "/orders",
            {"creator_id": CREATOR.id, "product": "x", "requirements": "y", "fee_fen": 1},
        ),
        (
            "/orders",
            {"creator_id": CREATOR.id, "product": "x", "requirements": "y", "price_fen": "1"},
        ),
        (
            "/orders",
            {"creator_id": CREATOR.id, "product": "x", "requirements": "y", "status": "completed"},
        ),
        ("/orders", {"creator_id": CREATOR.id, "product": "", "requirements": "y"}),
        (
            "/orders",
            {"creator_id": CREATOR.id, "product": "x", "requirements": "y", "retention_days": 29},
        ),
        ("/orders", {"product": "x"}),
        (f"/orders/{order_id}/cancel", {}),
        (f"/orders/{order_id}/cancel", {"reason": "   "}),
        (f"/orders/{order_id}/decline", {"reason": "x", "extra": 1}),
    ]
    for url, body in cases:
        actor = CREATOR if url.endswith("decline") else CLIENT
        response = await api.http.post(url, json=body, headers=api.keyed(actor))
        assert response.status_code == 422, (url, body, response.text)
        assert response.json()["errors"][0]["loc"], (url, body)

    not_json = await api.http.post(
        "/orders",
        content=b"{not json",
        headers=api.keyed(CLIENT) | {"Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    bad_query = await api.http.get("/orders?limit=0", headers=api.auth(CLIENT))
    assert bad_query.status_code == 422
    bad_cursor = await api.http.get("/orders?cursor=%%%", headers=api.auth(CLIENT))
    assert bad_cursor.status_code == 422


async def test_a_rejection_without_reason_is_refused_by_the_workflow(api: Api) -> None:
    # rules O4 A1
    order_id = (await api.place())["id"]
    await api.act(CREATOR, order_id, "accept")
    await api.act(CREATOR, order_id, "script", {"text": "draft"})
    from tests.stack import REVIEWER

    response = await api.act(REVIEWER, order_id, "script/review", {"approve": False})
    assert response.status_code == 422
    assert "reason" in response.json()["detail"]


async def test_not_enough_balance_and_unorderable_creators_answer_409(api: Api) -> None:
    # rules O1 C5
    body = {"creator_id": OTHER_CREATOR.id, "product": "x", "requirements": "y"}
    response = await api.http.post("/orders", json=body, headers=api.keyed(CLIENT))
    assert response.status_code == 409
    assert "not accepting orders" in response.json()["detail"]
    poor = await api.http.post(
        "/orders", json={**body, "creator_id": CREATOR.id}, headers=api.keyed(OTHER_CLIENT)
    )
    assert poor.status_code == 409
    assert "insufficient balance" in poor.json()["detail"]


async def test_temporal_unreachable_answers_503(api: Api, sqlite_engine: Engine) -> None:
    order_id = (await api.place())["id"]
    settings = api_settings(api.stack).model_copy(update={"temporal_address": "127.0.0.1:9"})
    app = create_app(settings, engine=sqlite_engine)  # no client: it must connect, and cannot
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a"
    ) as http:
        response = await http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "the order service (Temporal) is unavailable right now; please retry shortly"
    )


async def test_database_unreachable_answers_503(dev_server_env: WorkflowEnvironment) -> None:
    settings = api_settings_for_missing_db()
    app = create_app(settings, temporal=dev_server_env.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a"
    ) as http:
        response = await http.get("/me", headers={"Authorization": "Bearer whatever"})
        login = await http.post("/auth/token", data={"username": "a", "password": "b"})
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "the database is unavailable right now; please retry shortly"
    )
    assert login.status_code == 503


def api_settings_for_missing_db() -> Settings:
    return Settings(database_url="sqlite:////nonexistent-directory/for/sure/app.db")
