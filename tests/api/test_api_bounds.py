"""Bad input never reaches the database (rule A1): integers past their bounds, forged cursors,
out-of-range simulator metrics and control characters answer 422 with the field that is wrong,
on SQLite and on PostgreSQL; and nothing the API takes makes a later request fail."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from api.main import create_app
from config import Settings
from db import ledger
from services.wallets import credit_top_up
from tests.api.conftest import EVERYONE, OPS, Api
from tests.stack import CLIENT, CREATOR
from workflows.bounds import MAX_BALANCE_FEN, MAX_COUNT

INT64_EDGES = (2**63, 2**63 - 1, 2**64, -(2**63), -1)
INVALID_CURSOR = "invalid cursor: pass next_cursor from a previous page"


def forged(payload: object) -> str:
    """A cursor as a client could make one: well-formed base64 of anything."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode()


def field_of(response: Any) -> list[Any]:
    errors = response.json()["errors"]
    assert isinstance(errors, list), errors
    return list(errors[0]["loc"])


async def test_square_filters_past_their_bounds_answer_422(api_on_every_db: Api) -> None:
    # rules A1 S1
    api = api_on_every_db
    for name in ("max_price_fen", "min_fans", "min_avg_plays"):
        for value in INT64_EDGES:
            response = await api.http.get(
                "/creators", params={name: value}, headers=api.auth(CLIENT)
            )
            assert response.status_code == 422, (name, value, response.text)
            assert field_of(response) == ["query", name]
        for value in (0, 10**12):
            response = await api.http.get(
                "/creators", params={name: value}, headers=api.auth(CLIENT)
            )
            assert response.status_code == 200, (name, value, response.text)


async def test_forged_order_cursors_answer_422(api_on_every_db: Api) -> None:
    # rule A1
    api = api_on_every_db
    at = "2026-01-01T00:00:00+00:00"
    cursors = {
        "a datetime without timezone": forged({"created_at": "2026-01-01T00:00:00", "id": "o"}),
        "a wrong-type id": forged({"created_at": at, "id": 12}),
        "an id with NUL": forged({"created_at": at, "id": "o\x00"}),
        "a huge integer for the time": forged({"created_at": 2**63, "id": "o"}),
        "a time before UTC's first": forged({"created_at": "0001-01-01T00:00:00+01:00", "id": "o"}),
        "a time after UTC's last": forged({"created_at": "9999-12-31T23:59:59-01:00", "id": "o"}),
        "an unknown field": forged({"created_at": at, "id": "o", "admin": True}),
        "a missing field": forged({"id": "o"}),
        "the old format": forged(f"{at}|o".encode()),
        "not JSON": forged(b"\xff\xfe"),
        "not base64": "%%%",
    }
    for what, cursor in cursors.items():
        response = await api.http.get(
            "/orders", params={"cursor": cursor}, headers=api.auth(CLIENT)
        )
        assert response.status_code == 422, (what, response.text)
        assert response.json()["detail"] == INVALID_CURSOR, what


async def test_forged_square_and_statement_cursors_answer_422(api_on_every_db: Api) -> None:
    # rules A1 S1
    api = api_on_every_db
    price = {"sort": "price", "descending": False}
    cursors = {
        "a value past int64": forged({**price, "value": 2**63, "id": CREATOR.id}),
        "a negative value": forged({**price, "value": -1, "id": CREATOR.id}),
        "a value as text": forged({**price, "value": "1", "id": CREATOR.id}),
        "a wrong-type id": forged({**price, "value": 1, "id": 7}),
        "an id with NUL": forged({**price, "value": 1, "id": "c\x00"}),
        "the old format": forged(f"{2**63}|{CREATOR.id}".encode()),
    }
    for what, cursor in cursors.items():
        response = await api.http.get(
            "/creators", params={"cursor": cursor}, headers=api.auth(CLIENT)
        )
        assert response.status_code == 422, (what, response.text)
        assert response.json()["detail"] == INVALID_CURSOR, what

    # A real cursor pages on, in the order it was made for and no other.
    first = await api.http.get("/creators", params={"limit": 1}, headers=api.auth(CLIENT))
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    again = await api.http.get(
        "/creators", params={"limit": 1, "cursor": cursor}, headers=api.auth(CLIENT)
    )
    assert again.status_code == 200
    assert again.json()["items"] != first.json()["items"]
    other_order = await api.http.get(
        "/creators", params={"cursor": cursor, "sort": "fans"}, headers=api.auth(CLIENT)
    )
    assert other_order.status_code == 422
    assert "another order" in other_order.json()["detail"]

    for value, status in ((2**63, 422), (2**63 - 1, 422), (2**31, 422), (0, 422), (2**31 - 1, 200)):
        response = await api.http.get(
            "/wallet/statement", params={"cursor": value}, headers=api.auth(CLIENT)
        )
        assert response.status_code == status, (value, response.text)


async def test_account_metrics_out_of_range_are_refused_and_the_application_answers(
    api_on_every_db: Api,
) -> None:
    # rules A1 C2
    api = api_on_every_db
    url = "/simulator/accounts/xg-creator-1"
    owner = {"login_platform": "douyin", "login_account": "dy-creator-1"}  # as seed onboards it
    eligible = {**owner, "fans_toutiao": 60_000, "fans_xigua": 0, "recent_plays": [5_000] * 20}
    for name, value in (
        ("recent_plays", [2**62] * 20),
        ("recent_plays", [2**63]),
        ("recent_plays", [-1]),
        ("fans_toutiao", 2**63),
        ("fans_xigua", MAX_COUNT + 1),
        ("category", "food\x00"),
    ):
        response = await api.http.put(url, json={**eligible, name: value}, headers=api.auth(OPS))
        assert response.status_code == 422, (name, response.text)
        assert field_of(response)[:2] == ["body", name]

    # The largest numbers the simulator takes still make an application, and a square, that
    # answer: their sums fit.
    largest = {
        **owner,
        "fans_toutiao": MAX_COUNT,
        "fans_xigua": MAX_COUNT,
        "recent_plays": [MAX_COUNT] * 100,
    }
    assert (await api.http.put(url, json=largest, headers=api.auth(OPS))).status_code == 204
    applied = await api.http.post("/creators/me/task-application", headers=api.auth(CREATOR))
    assert applied.status_code == 200, applied.text
    assert applied.json()["approved"] is True
    measured = [c["measured"] for c in applied.json()["checks"]]
    assert 2 * MAX_COUNT in measured
    assert MAX_COUNT in measured
    params: dict[str, Any] = {"sort": "fans", "descending": True, "limit": 1}
    top = await api.http.get("/creators", params=params, headers=api.auth(CLIENT))
    assert top.status_code == 200
    assert top.json()["items"][0]["fans"] == 2 * MAX_COUNT
    params["cursor"] = top.json()["next_cursor"]
    assert (await api.http.get("/creators", params=params, headers=api.auth(CLIENT))).is_success


async def test_video_counts_stop_at_their_bound(api_on_every_db: Api) -> None:
    # rules A1 O11
    api = api_on_every_db
    api.stack.platform.link_video("v-counted", "no-order", "xg-creator-1")
    url = "/simulator/videos/v-counted/engagement"
    too_many = await api.http.post(url, json={"plays": MAX_COUNT + 1}, headers=api.auth(OPS))
    assert too_many.status_code == 422
    for _ in range(2):
        response = await api.http.post(
            url, json={"plays": MAX_COUNT, "likes": MAX_COUNT}, headers=api.auth(OPS)
        )
        assert response.status_code == 200, response.text
    assert response.json()["plays"] == MAX_COUNT
    assert response.json()["likes"] == MAX_COUNT


async def test_a_top_up_past_the_wallet_limit_is_refused_and_moves_nothing(
    api_on_every_db: Api,
) -> None:
    # rules A1 A3
    api = api_on_every_db
    engine, account = api.stack.engine, ledger.client_account(CLIENT.id)
    keyed = {"Idempotency-Key": "top-up-1"} | api.auth(CLIENT)
    first = await api.http.post("/wallet/top-ups", json={"amount_fen": 100}, headers=keyed)
    assert first.status_code == 201
    # Filled to the limit by top-ups of the largest size (done below the API, for speed).
    credit_top_up(engine, CLIENT.id, MAX_BALANCE_FEN - ledger.balance(engine, account), "fill")

    refused = await api.http.post(
        "/wallet/top-ups", json={"amount_fen": 1}, headers=api.auth(CLIENT)
    )
    assert refused.status_code == 409
    assert f"a wallet holds at most {MAX_BALANCE_FEN} fen" in refused.json()["detail"]
    assert ledger.balance(engine, account) == MAX_BALANCE_FEN
    # A retry of a top-up already credited is answered as before, full or not.
    again = await api.http.post("/wallet/top-ups", json={"amount_fen": 100}, headers=keyed)
    assert (again.status_code, again.json()) == (201, first.json())
    wallet = await api.http.get("/wallet", headers=api.auth(CLIENT))
    assert wallet.json()["balance_fen"] == MAX_BALANCE_FEN
    assert (await api.http.get("/wallet/statement", headers=api.auth(CLIENT))).is_success


SIGN_UP = {"username": "new-user", "password": "long enough", "role": "client"}
ORDER = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}


@pytest.mark.parametrize(
    ("what", "text"),
    [
        ("NUL", "Li\x00"),
        ("escape", "\x1b[31mLi"),
        ("DEL", "Li\x7f"),
        ("bidi override", "\u202eiL"),
        ("zero-width space", "L\u200bi"),
        ("line break", "Li\nWang"),
    ],
)
async def test_control_characters_in_names_answer_422(
    api_on_every_db: Api, what: str, text: str
) -> None:
    # rule A1
    api = api_on_every_db
    signed_up = await api.http.post("/auth/signup", json={**SIGN_UP, "display_name": text})
    assert signed_up.status_code == 422, (what, signed_up.text)
    assert field_of(signed_up) == ["body", "display_name"]
    placed = await api.http.post(
        "/orders", json={**ORDER, "product": text}, headers=api.keyed(CLIENT)
    )
    assert placed.status_code == 422, (what, placed.text)
    assert field_of(placed) == ["body", "product"]


async def test_control_characters_in_free_text_answer_422(api_on_every_db: Api) -> None:
    # rule A1
    api = api_on_every_db
    order_id = (await api.place())["id"]
    refused: list[tuple[str, str, dict[str, Any], list[str]]] = [
        ("POST", "/orders", {**ORDER, "requirements": "Cook\x00"}, ["body", "requirements"]),
        ("POST", "/orders", {**ORDER, "requirements": "\u202eCook"}, ["body", "requirements"]),
        ("POST", f"/orders/{order_id}/cancel", {"reason": "no\x07"}, ["body", "reason"]),
        ("POST", f"/orders/{order_id}/cancel", {"reason": "a\u2066b"}, ["body", "reason"]),
        ("PUT", "/me/contact", {"phone": "13800138000", "email": "a\x00@b.cn"}, ["body", "email"]),
    ]
    for method, url, body, field in refused:
        response = await api.http.request(method, url, json=body, headers=api.keyed(CLIENT))
        assert response.status_code == 422, (url, body, response.text)
        assert field_of(response) == field, (url, body)
    script = await api.act(CREATOR, order_id, "script", {"text": "Open on\x0bthe bottle"})
    assert script.status_code == 422
    assert field_of(script) == ["body", "text"]

    # What JSON can carry and an answer cannot: a lone surrogate, NaN. Refused, and quoted back.
    for raw in ('{"reason": "\\ud800"}', '{"reason": NaN}', '{"reason": "x", "more": Infinity}'):
        response = await api.http.post(
            f"/orders/{order_id}/cancel",
            content=raw,
            headers=api.auth(CLIENT) | {"Content-Type": "application/json"},
        )
        assert response.status_code == 422, (raw, response.text)
        assert response.json()["errors"][0]["loc"][0] == "body"

    # No username holds a control character; PostgreSQL could not even look one up.
    login = await api.http.post("/auth/token", data={"username": "a\x00b", "password": "x" * 9})
    assert login.status_code == 422

    # Free text keeps its lines and tabs; a Windows line end is read as a line feed.
    placed = await api.place(requirements="Line 1\r\nLine 2\r\n\tindented")
    assert placed["brief"] == {
        "product": "Soy sauce",
        "requirements": "Line 1\nLine 2\n\tindented",
        "due_date": None,
        "script_due": None,
        "video_due": None,
    }


def _integers(schema: dict[str, Any], spec: dict[str, Any], where: str) -> list[str]:
    """Every integer in a (JSON) schema that lacks a lower or an upper bound."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _integers(spec["components"]["schemas"][name], spec, where)
    unbounded = []
    if schema.get("type") == "integer" and not (
        {"minimum", "exclusiveMinimum"} & set(schema)
        and {"maximum", "exclusiveMaximum"} & set(schema)
    ):
        unbounded.append(where)
    for option in schema.get("anyOf", []) + schema.get("allOf", []):
        unbounded += _integers(option, spec, where)
    for name, field in schema.get("properties", {}).items():
        unbounded += _integers(field, spec, f"{where}.{name}")
    if "items" in schema:
        unbounded += _integers(schema["items"], spec, f"{where}[]")
    return unbounded


def test_every_integer_a_route_takes_has_bounds_in_its_schema() -> None:
    # rule A1
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    unbounded = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                where = f"{label} {parameter['in']} {parameter['name']}"
                unbounded += _integers(parameter["schema"], spec, where)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                unbounded += _integers(media["schema"], spec, f"{label} body")
    assert unbounded == []


@pytest.mark.parametrize("bad", ["a%00b", "%E2%80%AEab", "x" * 65])
async def test_a_path_id_with_a_forbidden_character_answers_422_on_every_route(
    api_on_every_db: Api, bad: str
) -> None:
    # rule A1: ids in paths are checked at the boundary, whoever asks (PostgreSQL refuses a
    # NUL with an error of its own, which must never be the answer)
    api = api_on_every_db
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    routes = [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if "{" in path
        for method in operations
    ]
    assert len(routes) > 20
    for actor in EVERYONE:
        for method, template in routes:
            path = re.sub(r"\{[^}]+\}", bad, template)
            response = await api.http.request(method, path, headers=api.auth(actor))
            assert response.status_code == 422, (actor.id, method, template, response.text)
