"""Inboxes over HTTP (rule N1): every role has one, ops and reviewers theirs as a team with
each member's own read state; a user sees only its own, newest first, with the unread count;
an order placed reaches the creator's inbox and its phone."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.telephony import SimulatedTelephony
from bootstrap import relay, simulated_adapters
from db import orders
from services.auth import set_password
from services.users import create_user
from tests.api.conftest import EVERYONE, OPS, PASSWORD, Api, api_settings
from tests.notify.support import FakeClock
from tests.stack import CLIENT, CREATOR, MCN, OTHER_CLIENT, OTHER_CREATOR, REVIEWER
from workflows.messages import (
    SYSTEM,
    Action,
    Actor,
    Brief,
    Notification,
    OrderStatus,
    OrderTerms,
    ProjectionWrite,
    Role,
    Transition,
)

OTHER_OPS = Actor(id="ops-2", role=Role.OPS)
CREATOR_PHONE = "13800138000"  # what seed onboarding gives every test creator


def write(api: Api, order_id: str, seq: int, notes: list[Notification]) -> None:
    """Outbox rows of one transition, as the order workflow's projection writes them."""
    at = datetime(2027, 3, 1, tzinfo=UTC) + timedelta(minutes=seq)
    orders.record_transition(
        api.stack.engine,
        ProjectionWrite(
            transition=Transition(
                order_id=order_id,
                seq=seq,
                at=at,
                actor=SYSTEM,
                action=Action.REMIND,
                from_status=None,
                to_status=OrderStatus.SCRIPT_IN_REVIEW,
            ),
            terms=OrderTerms(
                order_id=order_id,
                client_id=CLIENT.id,
                creator_id=CREATOR.id,
                mcn_id=MCN.id,
                price_fen=100,
                fee_fen=5,
                brief=Brief(product="tea", requirements="show it"),
            ),
            placed_at=at,
            next=[],
            notifications=notes,
        ),
    )


async def inbox(api: Api, actor: Actor, **params: Any) -> dict[str, Any]:
    response = await api.http.get("/me/notifications", params=params, headers=api.auth(actor))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def kinds(page: dict[str, Any]) -> list[str]:
    return [str(item["kind"]) for item in page["items"]]


async def login(api: Api, actor: Actor) -> None:
    create_user(api.stack.engine, actor.id, actor.role, actor.id)
    set_password(api.stack.engine, actor.id, actor.id, PASSWORD)
    response = await api.http.post("/auth/token", data={"username": actor.id, "password": PASSWORD})
    api.tokens[actor.id] = response.json()["access_token"]


async def test_an_order_placed_reaches_the_creators_inbox_and_phone(api: Api) -> None:
    # rule N1
    order = await api.place()
    page = await inbox(api, CREATOR)
    assert page["unread_count"] == 1
    (item,) = page["items"]
    assert item["kind"] == "new_order"
    assert item["order_id"] == order["id"]
    assert item["title"].startswith("New order")
    assert "Soy sauce" in item["body"]
    assert item["read_at"] is None
    assert item["event_id"] == f"ntf_{item['id']}"
    for stranger in (CLIENT, OTHER_CREATOR, REVIEWER, OPS):
        assert "new_order" not in kinds(await inbox(api, stranger))
    # The relay texts it to the creator's own contact phone.
    engine = api.stack.engine
    adapters = simulated_adapters(engine)
    relay(engine, api_settings(api.stack), adapters, clock=FakeClock()).run_once()
    sent = SimulatedTelephony(engine).sent(CREATOR_PHONE)
    (text,) = [t for _, _, t in sent if str(order["id"]) in t]
    assert text.startswith("New order")
    # The creator accepts: now the client has news, and the creator's count is unchanged.
    await api.act(CREATOR, order["id"], "accept")
    assert kinds(await inbox(api, CLIENT)) == ["accepted"]
    assert (await inbox(api, CREATOR))["unread_count"] == 1


async def test_every_role_sees_only_its_own_and_its_teams_notifications(
    api_on_every_db: Api,
) -> None:
    # rule N1: inbox isolation for every role, ops and reviewers as teams (SQLite, PostgreSQL)
    api = api_on_every_db
    await login(api, OTHER_OPS)
    write(
        api,
        "o-inbox",
        1,
        [
            Notification(recipient=CLIENT.id, kind="accepted", body="to the client"),
            Notification(recipient=CREATOR.id, kind="script_rejected", body="to the creator"),
            Notification(recipient=MCN.id, kind="paid", body="to the MCN"),
            Notification(recipient="ops", kind="escalated", body="to ops"),
            Notification(recipient="reviewers", kind="reminder", body="to reviewers"),
        ],
    )
    write(api, "o-inbox", 2, [Notification(recipient="ops", kind="retention_violation", body="")])
    expected = {
        CLIENT.id: ["accepted"],
        CREATOR.id: ["script_rejected"],
        MCN.id: ["paid"],
        REVIEWER.id: ["reminder"],
        OPS.id: ["retention_violation", "escalated"],
        OTHER_OPS.id: ["retention_violation", "escalated"],
    }
    for actor in (*EVERYONE, OTHER_OPS):
        page = await inbox(api, actor)
        assert kinds(page) == expected.get(actor.id, []), actor.id
        assert page["unread_count"] == len(expected.get(actor.id, []))

    # Someone else's notification is not found, whoever asks, and marks nothing.
    theirs = (await inbox(api, CLIENT))["items"][0]["id"]
    for stranger in (OTHER_CLIENT, CREATOR, MCN, REVIEWER, OPS):
        response = await api.http.post(
            f"/me/notifications/{theirs}/read", headers=api.auth(stranger)
        )
        assert response.status_code == 404, stranger.id
        assert response.json()["type"] == "urn:xigua-tasks:problem:NotFound"
    missing = await api.http.post("/me/notifications/999999/read", headers=api.auth(CLIENT))
    assert missing.status_code == 404
    assert (await inbox(api, CLIENT))["unread_count"] == 1

    # Marking read: once, and only for the one who read it (ops read state is per user).
    escalated = next(i for i in (await inbox(api, OPS))["items"] if i["kind"] == "escalated")
    first = await api.http.post(f"/me/notifications/{escalated['id']}/read", headers=api.auth(OPS))
    assert first.status_code == 200
    assert first.json()["read_at"] is not None
    again = await api.http.post(f"/me/notifications/{escalated['id']}/read", headers=api.auth(OPS))
    assert again.json()["read_at"] == first.json()["read_at"]
    assert (await inbox(api, OPS))["unread_count"] == 1
    assert (await inbox(api, OTHER_OPS))["unread_count"] == 2
    assert kinds(await inbox(api, OPS, unread="true")) == ["retention_violation"]

    read_all = await api.http.post("/me/notifications/read-all", headers=api.auth(OTHER_OPS))
    assert read_all.json() == {"marked": 2, "unread_count": 0}
    assert (await inbox(api, OPS))["unread_count"] == 1  # still ops-1's own state
    # One written after read-all is unread.
    write(api, "o-inbox", 3, [Notification(recipient="ops", kind="escalated", body="again")])
    assert (await inbox(api, OTHER_OPS))["unread_count"] == 1


async def test_an_inbox_pages_newest_first_and_refuses_forged_cursors(
    api_on_every_db: Api,
) -> None:
    # rules N1 A1
    api = api_on_every_db
    for seq in range(1, 26):
        write(
            api,
            "o-pages",
            seq,
            [Notification(recipient=CREATOR.id, kind="reminder", body=f"n{seq}")],
        )
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = await inbox(api, CREATOR, **params)
        seen += [int(item["id"]) for item in page["items"]]
        assert page["unread_count"] == 25
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 25
    assert seen == sorted(seen, reverse=True)
    assert (await inbox(api, CREATOR, limit=1))["items"][0]["body"] == "n25"
    for forged in (
        "%%%",
        base64.urlsafe_b64encode(b'{"id": 0}').decode(),
        base64.urlsafe_b64encode(b'{"id": 9223372036854775808}').decode(),
        base64.urlsafe_b64encode(b'{"id": "1"}').decode(),
        base64.urlsafe_b64encode(
            b'{"created_at": "2026-01-01T00:00:00+00:00", "id": "o"}'
        ).decode(),
    ):
        response = await api.http.get(
            "/me/notifications", params={"cursor": forged}, headers=api.auth(CREATOR)
        )
        assert response.status_code == 422, forged
    for limit in (0, 101, 2**63):
        response = await api.http.get(
            "/me/notifications", params={"limit": limit}, headers=api.auth(CREATOR)
        )
        assert response.status_code == 422
    unauthenticated = await api.http.get("/me/notifications")
    assert unauthenticated.status_code == 401


async def test_an_inbox_never_shows_a_real_phone_number(api: Api) -> None:
    # rules C4 N1: not even one a party typed into a reason
    write(
        api,
        "o-phone",
        1,
        [
            Notification(
                recipient=CLIENT.id,
                kind="extension_requested",
                body=f"call me: +86 {CREATOR_PHONE} or {CREATOR.id}@example.com",
            )
        ],
    )
    response = await api.http.get("/me/notifications", headers=api.auth(CLIENT))
    assert CREATOR_PHONE not in response.text
    assert f"{CREATOR.id}@example.com" not in response.text
    assert "[phone number hidden]" in response.text
