"""Every error answers one shape, RFC 9457 problem details, with one status per kind (A1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from api.errors import PROBLEM_JSON, PROBLEMS, TYPE_PREFIX
from api.limits import LoginRateLimiter
from api.main import create_app
from tests.api.conftest import Api, api_settings
from tests.stack import CLIENT, CREATOR
from workflows.errors import ErrorKind

MEMBERS = {"type", "title", "status", "detail", "instance"}


def assert_problem(response: httpx.Response, status: int, kind: ErrorKind | None) -> dict[str, Any]:
    """The one shape: the standard members, a sentence for people, the path asked for."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.text
    body: dict[str, Any] = response.json()
    assert body.keys() >= MEMBERS, body
    assert body["status"] == status
    assert body["type"] == (f"{TYPE_PREFIX}{kind}" if kind else "about:blank")
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    return body


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    # The 500 fallback answers, then Starlette re-raises for the server's log: not the test's.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http


def test_every_error_kind_has_one_status() -> None:
    # rule A1: one meaning, one status; "Conflict" was 422 for orders and 409 for creators
    assert set(PROBLEMS) == set(ErrorKind)
    assert PROBLEMS[ErrorKind.CONFLICT].status == 409
    assert PROBLEMS[ErrorKind.INVALID_STATE].status == 409
    assert PROBLEMS[ErrorKind.NOT_A_PARTY].status == PROBLEMS[ErrorKind.NOT_FOUND].status == 404
    assert PROBLEMS[ErrorKind.INVALID_INPUT].status == 422


async def test_every_error_class_answers_problem_details(api: Api) -> None:
    # rule A1
    http, order_id = api.http, (await api.place())["id"]
    body = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}

    assert_problem(await http.get("/orders"), 401, ErrorKind.UNAUTHENTICATED)
    creator_places = await http.post("/orders", json=body, headers=api.keyed(CREATOR))
    assert_problem(creator_places, 403, ErrorKind.FORBIDDEN)
    unknown = await http.get("/orders/no-such-order", headers=api.auth(CLIENT))
    assert_problem(unknown, 404, ErrorKind.NOT_FOUND)
    assert_problem(await http.get("/no/such/route"), 404, ErrorKind.NOT_FOUND)
    not_allowed = await http.delete("/orders", headers=api.auth(CLIENT))
    assert_problem(not_allowed, 405, ErrorKind.METHOD_NOT_ALLOWED)
    wrong_state = await api.act(CLIENT, order_id, "publish")
    assert (
        "it is awaiting_acceptance"
        in assert_problem(wrong_state, 409, ErrorKind.INVALID_STATE)["detail"]
    )
    taken = await http.post(
        "/auth/signup",
        json={
            "username": CLIENT.id,
            "password": "long enough password",
            "role": "client",
            "display_name": "Another",
        },
    )
    assert_problem(taken, 409, ErrorKind.CONFLICT)
    too_large = await http.post(
        "/orders", json={**body, "requirements": "x" * 100_000}, headers=api.keyed(CLIENT)
    )
    assert_problem(too_large, 413, ErrorKind.TOO_LARGE)

    # Malformed requests, of every kind FastAPI and pydantic refuse: the fields in `errors`.
    invalid = await http.post(
        "/orders", json={**body, "retention_days": 29}, headers=api.keyed(CLIENT)
    )
    problem = assert_problem(invalid, 422, ErrorKind.INVALID_INPUT)
    assert problem["errors"][0]["loc"] == ["body", "retention_days"]
    assert {"loc", "msg", "type"} == problem["errors"][0].keys()
    assert "body.retention_days" in problem["detail"]
    not_json = await http.post(
        "/orders",
        content=b"{not json",
        headers=api.keyed(CLIENT) | {"Content-Type": "application/json"},
    )
    assert assert_problem(not_json, 422, ErrorKind.INVALID_INPUT)["errors"]
    bad_query = await http.get("/orders?limit=0", headers=api.auth(CLIENT))
    assert assert_problem(bad_query, 422, ErrorKind.INVALID_INPUT)["errors"][0]["loc"] == [
        "query",
        "limit",
    ]
    bad_cursor = await http.get("/orders?cursor=%%%", headers=api.auth(CLIENT))
    assert_problem(bad_cursor, 422, ErrorKind.INVALID_INPUT)

    # The answers that come from elsewhere than a route: the login throttle, the 500 fallback,
    # an unreachable Temporal (with its Retry-After kept).
    settings = api_settings(api.stack)
    throttled = create_app(settings, engine=api.stack.engine, temporal=api.stack.client)
    throttled.state.login_limiter = LoginRateLimiter(free_failures=0)
    failing = create_app(settings, engine=api.stack.engine, temporal=api.stack.client)

    @failing.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    away = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:9"}),
                      engine=api.stack.engine)  # fmt: skip
    async with client_of(throttled) as a, client_of(failing) as b, client_of(away) as c:
        for _ in range(2):
            login = await a.post("/auth/token", data={"username": "x", "password": "wrong"})
        assert_problem(login, 429, ErrorKind.TOO_MANY_REQUESTS)
        assert int(login.headers["Retry-After"]) > 0
        crashed = assert_problem(await b.get("/boom"), 500, ErrorKind.INTERNAL)
        assert "a bug" not in crashed["detail"]
        unreachable = await c.get(f"/orders/{order_id}", headers=api.auth(CLIENT))
        assert_problem(unreachable, 503, ErrorKind.UNAVAILABLE)
        assert int(unreachable.headers["Retry-After"]) > 0


async def test_ordering_a_creator_that_does_not_exist_answers_404(api: Api) -> None:
    # rules A1 C5: no such creator is not found; one that exists but cannot be ordered is 409
    body = {"creator_id": "no-such-creator", "product": "Soy sauce", "requirements": "Cook"}
    missing = await api.http.post("/orders", json=body, headers=api.keyed(CLIENT))
    assert (
        "creator no-such-creator not found"
        in assert_problem(missing, 404, ErrorKind.NOT_FOUND)["detail"]
    )
    a_client = await api.http.post(
        "/orders", json={**body, "creator_id": CLIENT.id}, headers=api.keyed(CLIENT)
    )
    assert_problem(a_client, 404, ErrorKind.NOT_FOUND)


async def test_a_replayed_refusal_answers_the_same_problem(api: Api) -> None:
    # rules A1 A2
    order_id = (await api.place())["id"]
    first = await api.act(CLIENT, order_id, "publish", key="publish-early")
    again = await api.act(CLIENT, order_id, "publish", key="publish-early")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert assert_problem(again, 409, ErrorKind.INVALID_STATE) == assert_problem(
        first, 409, ErrorKind.INVALID_STATE
    )


async def test_the_openapi_document_describes_every_error_as_a_problem(api: Api) -> None:
    # rule A1
    schema = (await api.http.get("/openapi.json")).json()
    problem = schema["components"]["schemas"]["Problem"]
    assert problem["properties"].keys() >= MEMBERS
    assert {"errors", "order_id"} <= problem["properties"].keys()
    undocumented = [
        f"{method.upper()} {path} {code}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if int(code) >= 400
        and response.get("content")
        != {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    ]
    assert undocumented == []
    assert "HTTPValidationError" not in schema["components"]["schemas"]
