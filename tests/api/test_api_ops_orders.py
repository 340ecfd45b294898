"""How ops find orders (SPEC P1): `GET /orders` lists every order for ops, filtered and paged,
and nobody else's for anyone else; an escalated or overdue order is flagged there and in the
Web UI's search attributes; the reviewers' queue says how long each item waited and which are
past their review deadline (D2). On SQLite and PostgreSQL, on the dev server and, where time
must pass, on the time-skipping server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.payments import SimulatedPaymentRails
from services.orders import workflow_id
from services.wallets import top_up
from tests.api.conftest import OPS, Api, serving
from tests.api.test_api_bounds import INVALID_CURSOR, forged
from tests.stack import (
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    MCN,
    MCN_CREATOR,
    OTHER_CLIENT,
    REVIEWER,
    eventually,
)
from workflows.messages import Actor

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def place(api: Api, client: Actor = CLIENT, creator: Actor = CREATOR) -> str:
    body = {"creator_id": creator.id, "product": "Soy sauce", "requirements": "Cook with it"}
    response = await api.http.post("/orders", json=body, headers=api.keyed(client))
    assert response.status_code == 201, response.text
    order_id: str = response.json()["id"]
    api.stack.placed.append(order_id)
    return order_id


async def ids(api: Api, actor: Actor, **params: Any) -> list[str]:
    response = await api.http.get("/orders", params=params, headers=api.auth(actor))
    assert response.status_code == 200, (params, response.text)
    return [item["id"] for item in response.json()["items"]]


async def summary(api: Api, order_id: str, **params: Any) -> dict[str, Any] | None:
    response = await api.http.get("/orders", params=params, headers=api.auth(OPS))
    assert response.status_code == 200, response.text
    return next((o for o in response.json()["items"] if o["id"] == order_id), None)


async def ops_orders(api: Api) -> dict[str, str]:
    """Five orders, oldest first: by two clients, for two creators, in three statuses."""
    top_up(
        api.stack.engine,
        SimulatedPaymentRails(api.stack.engine),
        OTHER_CLIENT.id,
        CLIENT_FUNDS,
        "t",
    )
    made = {
        "waiting": await place(api),
        "mcn": await place(api, creator=MCN_CREATOR),
        "other": await place(api, client=OTHER_CLIENT),
        "accepted": await place(api),
        "cancelled": await place(api),
    }
    assert (await api.act(CREATOR, made["accepted"], "accept")).status_code == 200
    cancel = await api.act(CLIENT, made["cancelled"], "cancel", {"reason": "changed plans"})
    assert cancel.status_code == 200
    return made


async def test_ops_see_every_order_newest_first_and_each_filter_narrows_it(
    api_on_every_db: Api,
) -> None:
    # rule P1
    api = api_on_every_db
    o = await ops_orders(api)
    newest_first = [o[k] for k in ("cancelled", "accepted", "other", "mcn", "waiting")]
    assert await ids(api, OPS) == newest_first
    assert await ids(api, OPS, status="awaiting_acceptance") == [o["other"], o["mcn"], o["waiting"]]
    assert await ids(api, OPS, client_id=OTHER_CLIENT.id) == [o["other"]]
    assert await ids(api, OPS, creator_id=MCN_CREATOR.id) == [o["mcn"]]
    assert await ids(api, OPS, client_id=CLIENT.id, creator_id=CREATOR.id) == [
        o["cancelled"],
        o["accepted"],
        o["waiting"],
    ]
    assert await ids(api, OPS, client_id=CLIENT.id, status="script_pending") == [o["accepted"]]
    # The accept window closes in 24 h, the accepted order's script is due in 3 d, and a
    # cancelled order has no deadline.
    soon = (datetime.now().astimezone() + 2 * DAY).isoformat()
    assert await ids(api, OPS, deadline_before=soon) == [o["other"], o["mcn"], o["waiting"]]
    later = (datetime.now().astimezone() + 4 * DAY).isoformat()
    assert await ids(api, OPS, deadline_before=later, client_id=CLIENT.id) == [
        o["accepted"],
        o["mcn"],
        o["waiting"],
    ]
    # Nothing is flagged yet; each flag filters either way, and shows on every summary.
    for flag in ("escalated", "disputed", "overdue", "attention"):
        assert await ids(api, OPS, **{flag: "true"}) == [], flag
        assert await ids(api, OPS, **{flag: "false"}) == newest_first, flag
    listed = (await api.http.get("/orders", headers=api.auth(OPS))).json()["items"]
    assert {(i["escalated"], i["disputed"], i["overdue"]) for i in listed} == {
        (False, False, False)
    }

    # Pages of one filter follow on from each other, newest first, each order once.
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 1, "client_id": CLIENT.id}
    while True:
        page = (await api.http.get("/orders", params=params, headers=api.auth(OPS))).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [o[k] for k in ("cancelled", "accepted", "mcn", "waiting")]

    forged_cursor = forged({"created_at": "2026-01-01T00:00:00", "id": "o"})
    response = await api.http.get(
        "/orders", params={"cursor": forged_cursor, "status": "cancelled"}, headers=api.auth(OPS)
    )
    assert response.status_code == 422
    assert response.json()["detail"] == INVALID_CURSOR


async def test_bad_filters_answer_422_naming_the_field(api_on_every_db: Api) -> None:
    # rules P1 A1
    api = api_on_every_db
    bad: list[tuple[str, str]] = [
        ("client_id", "client-1\x00"),
        ("client_id", "client\u202e1"),
        ("creator_id", "creator 1"),
        ("creator_id", "c" * 65),
        ("client_id", ""),
        ("deadline_before", "2026-01-01T00:00:00"),  # which zone?
        ("deadline_before", "0001-01-01T00:00:00+01:00"),  # before UTC's first instant
        ("deadline_before", "9999-12-31T23:59:59-01:00"),  # after UTC's last
        ("deadline_before", "tomorrow"),
        ("escalated", "maybe"),
        ("attention", "2"),
        ("status", "lost"),
    ]
    for name, value in bad:
        response = await api.http.get("/orders", params={name: value}, headers=api.auth(OPS))
        assert response.status_code == 422, (name, value, response.text)
        assert response.json()["errors"][0]["loc"] == ["query", name], (name, value)


async def test_a_party_naming_someone_else_in_a_filter_sees_nothing_of_theirs(
    api_on_every_db: Api,
) -> None:
    # rules P1 A1: the filters narrow the caller's own orders, never widen them
    api = api_on_every_db
    o = await ops_orders(api)
    assert await ids(api, CLIENT, client_id=OTHER_CLIENT.id) == []
    assert await ids(api, OTHER_CLIENT, client_id=CLIENT.id) == []
    assert await ids(api, OTHER_CLIENT) == [o["other"]]
    # The creator both clients ordered: a client sees its own orders of that creator only.
    assert await ids(api, CLIENT, creator_id=CREATOR.id) == [
        o["cancelled"],
        o["accepted"],
        o["waiting"],
    ]
    assert await ids(api, CREATOR, creator_id=MCN_CREATOR.id) == []
    assert await ids(api, MCN_CREATOR, creator_id=CREATOR.id) == []
    assert await ids(api, CREATOR, client_id=OTHER_CLIENT.id) == [o["other"]]
    assert await ids(api, MCN, client_id=CLIENT.id) == [o["mcn"]]
    assert await ids(api, MCN, creator_id=CREATOR.id) == []
    assert await ids(api, REVIEWER, client_id=CLIENT.id) == []  # nothing waits for review
    assert await ids(api, CLIENT, status="awaiting_acceptance", client_id=OTHER_CLIENT.id) == []


# ------------------------------------------------------------------ time passes

REVIEW_WITHIN = timedelta(hours=6)  # not the default 24 h: the order's own duration counts


class ServerClock:
    """The API's "now", set to the time-skipping server's after each skip."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env
        self.now = datetime.now().astimezone()

    def __call__(self) -> datetime:
        return self.now

    async def skip(self, duration: timedelta) -> None:
        await self.env.sleep(duration)
        self.now = await self.env.get_current_time()


@pytest.fixture
async def clock(time_skipping_env: WorkflowEnvironment) -> ServerClock:
    clock = ServerClock(time_skipping_env)
    clock.now = await time_skipping_env.get_current_time()
    return clock


@pytest.fixture
async def timed_api(
    time_skipping_env: WorkflowEnvironment, engine: Engine, clock: ServerClock
) -> AsyncIterator[Api]:
    """The API on the time-skipping server, each database, its clock the server's."""
    async with serving(
        time_skipping_env, engine, clock=clock, settings={"review_within": REVIEW_WITHIN}
    ) as api:
        yield api


async def queued(api: Api, order_id: str, kind: str = "script") -> dict[str, Any]:
    response = await api.http.get(f"/reviews/queue?kind={kind}", headers=api.auth(REVIEWER))
    assert response.status_code == 200, response.text
    [item] = [i for i in response.json()["items"] if i["order_id"] == order_id]
    return item  # type: ignore[no-any-return]


async def test_a_late_review_is_escalated_flagged_for_ops_and_late_in_the_queue(
    timed_api: Api, clock: ServerClock
) -> None:
    # rules P1 D2
    api = timed_api
    order_id = await place(api)
    await api.act(CREATOR, order_id, "accept")
    submitted = await api.act(CREATOR, order_id, "script", {"text": "Open on the wok."})
    assert submitted.status_code == 200, submitted.text

    fresh = await queued(api, order_id)
    since = datetime.fromisoformat(fresh["waiting_since"])
    assert datetime.fromisoformat(fresh["review_due"]) == since + REVIEW_WITHIN
    assert (fresh["late"], fresh["escalated"]) == (False, False)
    assert 0 <= fresh["waiting_seconds"] < 60

    await clock.skip(REVIEW_WITHIN - HOUR)  # the reminder comes and goes: not yet late
    waiting = await queued(api, order_id)
    assert waiting["waiting_since"] == fresh["waiting_since"]
    assert waiting["waiting_seconds"] >= (REVIEW_WITHIN - HOUR).total_seconds()
    assert (waiting["late"], waiting["escalated"]) == (False, False)

    await clock.skip(2 * HOUR)

    async def flagged() -> bool:
        found = await summary(api, order_id, escalated="true")
        return found is not None and found["escalated"] is True

    await eventually(flagged, "ops find the escalated order in GET /orders?escalated=true")
    assert order_id in await ids(api, OPS, attention="true")
    assert order_id not in await ids(api, OPS, escalated="false")
    late = await queued(api, order_id)
    assert (late["late"], late["escalated"], late["review_due"]) == (True, True, None)
    assert late["waiting_seconds"] >= (REVIEW_WITHIN + HOUR).total_seconds()
    assert late["waiting_since"] == fresh["waiting_since"]

    # The review clears the flag, in the list as in the queue.
    reviewed = await api.act(REVIEWER, order_id, "script/review", {"approve": True})
    assert reviewed.status_code == 200, reviewed.text
    assert order_id not in await ids(api, OPS, escalated="true")
    after = await summary(api, order_id)
    assert after is not None
    assert after["escalated"] is False


async def test_a_review_past_due_is_late_before_the_escalation_is_recorded(
    timed_api: Api, clock: ServerClock
) -> None:
    # rule D2: late by the order's deadline, whether or not the timer has fired yet
    api = timed_api
    order_id = await place(api)
    await api.act(CREATOR, order_id, "accept")
    await api.act(CREATOR, order_id, "script", {"text": "Open on the wok."})
    due = datetime.fromisoformat((await queued(api, order_id))["review_due"])
    clock.now = due + timedelta(seconds=1)  # the API's clock only: the server has not moved
    item = await queued(api, order_id)
    assert (item["late"], item["escalated"]) == (True, False)


async def test_an_overdue_script_is_flagged_until_the_creator_delivers(
    timed_api: Api, clock: ServerClock
) -> None:
    # rules P1 D2
    api = timed_api
    order_id = await place(api)
    await api.act(CREATOR, order_id, "accept")
    assert order_id not in await ids(api, OPS, overdue="true")
    await clock.skip(3 * DAY + HOUR)

    async def flagged() -> bool:
        found = await summary(api, order_id, overdue="true")
        return found is not None and found["overdue"] is True

    await eventually(flagged, "ops find the overdue order in GET /orders?overdue=true")
    assert order_id in await ids(api, OPS, attention="true", status="script_pending")
    assert order_id in await ids(api, CLIENT, overdue="true")
    assert await ids(api, OTHER_CLIENT, overdue="true") == []

    delivered = await api.act(CREATOR, order_id, "script", {"text": "Late, but here."})
    assert delivered.status_code == 200, delivered.text
    assert order_id not in await ids(api, OPS, overdue="true")
    assert order_id not in await ids(api, OPS, attention="true")
    item = await queued(api, order_id)
    assert item["waiting_seconds"] < 60  # its wait began at this hand-in, not at the first


async def test_the_queue_pages_oldest_first(timed_api: Api, clock: ServerClock) -> None:
    # rules D2 O4
    api = timed_api
    made = [await place(api) for _ in range(3)]
    for order_id in made:
        await api.act(CREATOR, order_id, "accept")
    for order_id in reversed(made):
        await api.act(CREATOR, order_id, "script", {"text": "Open on the wok."})
        await clock.skip(HOUR)
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"kind": "script", "limit": 2}
    while True:
        response = await api.http.get("/reviews/queue", params=params, headers=api.auth(OPS))
        assert response.status_code == 200, response.text
        seen += response.json()["items"]
        if response.json()["next_cursor"] is None:
            break
        params["cursor"] = response.json()["next_cursor"]
    assert [i["order_id"] for i in seen] == list(reversed(made))
    assert [i["waiting_seconds"] // 3600 for i in seen] == [3, 2, 1]
    forged_cursor = forged({"submitted_at": "2026-01-01T00:00:00", "id": "o"})
    response = await api.http.get(
        "/reviews/queue", params={"kind": "script", "cursor": forged_cursor}, headers=api.auth(OPS)
    )
    assert response.status_code == 422
    assert response.json()["detail"] == INVALID_CURSOR


# ------------------------------------------------------------------ the Web UI (dev server)

# The time-skipping server has no visibility queries: the Web UI's are asked of the dev server
# (what `make run` starts), with the deadlines shortened by configuration (B4).
SHORT = {"review_within": timedelta(seconds=1), "script_due_after": timedelta(seconds=1)}


@pytest.fixture
async def dev_api(dev_server_env: WorkflowEnvironment, engine: Engine) -> AsyncIterator[Api]:
    async with serving(dev_server_env, engine, settings=SHORT) as api:
        yield api


async def test_ops_find_escalated_and_overdue_orders_in_the_web_ui_and_the_api(
    dev_api: Api,
) -> None:
    # rules P1 D2
    api = dev_api
    late_script, late_review = await place(api), await place(api)
    for order_id in (late_script, late_review):
        assert (await api.act(CREATOR, order_id, "accept")).status_code == 200
    submitted = await api.act(CREATOR, late_review, "script", {"text": "Open on the wok."})
    assert submitted.status_code == 200, submitted.text

    async def flagged() -> bool:
        return await ids(api, OPS, attention="true") == [late_review, late_script]

    await eventually(flagged, "both orders on the ops attention list", attempts=400)
    assert await ids(api, OPS, escalated="true") == [late_review]
    assert await ids(api, OPS, overdue="true") == [late_script]
    assert (await queued(api, late_review))["late"] is True

    async def in_web_ui(query: str, order_id: str) -> bool:
        found = [w.id async for w in api.stack.client.list_workflows(query)]
        return workflow_id(order_id) in found

    escalated = f"Escalated = true AND ClientId = '{CLIENT.id}'"
    await eventually(
        lambda: in_web_ui(escalated, late_review), f"the Web UI lists the order for {escalated}"
    )
    assert not await in_web_ui(escalated, late_script)
