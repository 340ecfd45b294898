"""Every role against every order route, on its own order and on someone else's (A1, C4)."""

from __future__ import annotations

import pytest

from api.access import ROLE_FOR_ACTION
from tests.api.conftest import EVERYONE, OPS, Api
from tests.stack import CLIENT, CREATOR, MCN, MCN_CREATOR, OTHER_CLIENT, OTHER_CREATOR, REVIEWER
from workflows.actions import ACTIONS
from workflows.messages import Action, Actor, Role

LATER = "2030-01-01T00:00:00+00:00"
# A body that is valid for each action; its route comes from the action table.
VALID_BODIES: dict[Action, object] = {
    Action.ACCEPT: None,
    Action.DECLINE: {"reason": "busy"},
    Action.CANCEL: {"reason": "no longer needed"},
    Action.SUBMIT_SCRIPT: {"text": "a script"},
    Action.REVIEW_SCRIPT: {"approve": True},
    Action.CONFIRM_SCRIPT: None,
    Action.REJECT_SCRIPT: {"reason": "no"},
    Action.SUBMIT_VIDEO: {"video_id": "v-1"},
    Action.REVIEW_VIDEO: {"approve": True},
    Action.CONFIRM_VIDEO: None,
    Action.REJECT_VIDEO: {"reason": "no"},
    Action.PUBLISH: None,
    Action.REPUBLISH: {"video_id": "v-2"},
    Action.REVIEW_PUBLICATION: {"approve": True, "video_id": "v-1"},
    Action.ACCEPT_DELIVERY: None,
    Action.CANCEL_OVERDUE: {"reason": "too late"},
    Action.REQUEST_EXTENSION: {"due_at": LATER, "reason": "ill"},
    Action.ANSWER_EXTENSION: {"grant": True},
    Action.MOVE_DEADLINE: {"due_at": LATER, "reason": "holiday"},
}
ACTION_ROUTES: dict[Action, tuple[str, object]] = {
    action: (ACTIONS[action].path, body) for action, body in VALID_BODIES.items()
}
# Parties of the order under test (placed by CLIENT for CREATOR).
PARTIES = {CLIENT.id, CREATOR.id}


def expected_read(actor: Actor) -> int:
    return 200 if actor.id in PARTIES or actor.role is Role.OPS else 404


def expected_action(actor: Actor, action: Action) -> int:
    if actor.role is not ROLE_FOR_ACTION[action]:
        return 403  # a route of another role
    if actor.role in (Role.REVIEWER, Role.OPS) or actor.id in PARTIES:
        return 409  # allowed to try; the ended order refuses
    return 404  # someone else's order


@pytest.fixture
async def ended_order(api: Api) -> str:
    """An order that has ended (cancelled), so that no request of the matrix can move it."""
    order_id = str((await api.place())["id"])
    response = await api.act(CLIENT, order_id, "cancel", {"reason": "setting up the matrix"})
    assert response.json()["status"] == "cancelled"
    return order_id


async def test_authorization_matrix(api: Api, ended_order: str) -> None:
    # rules A1 B3
    assert set(ACTION_ROUTES) == set(ROLE_FOR_ACTION)
    failures: list[tuple[object, ...]] = []
    for actor in EVERYONE:
        for path in ("", "/timeline"):
            response = await api.http.get(f"/orders/{ended_order}{path}", headers=api.auth(actor))
            if response.status_code != expected_read(actor):
                failures.append((actor.id, "GET", path, response.status_code))
        for action, (path, body) in ACTION_ROUTES.items():
            response = await api.act(actor, ended_order, path, body)
            if response.status_code != expected_action(actor, action):
                failures.append((actor.id, "POST", path, response.status_code, response.text))
    assert failures == []


async def test_every_order_route_needs_a_token(api: Api, ended_order: str) -> None:
    routes = [("GET", f"/orders/{ended_order}"), ("GET", f"/orders/{ended_order}/timeline")]
    routes += [("POST", f"/orders/{ended_order}/{p}") for p, _ in ACTION_ROUTES.values()]
    routes += [("GET", "/orders"), ("POST", "/orders"), ("GET", "/me"), ("POST", "/auth/logout")]
    routes += [("GET", "/reviews/queue?kind=script")]
    for method, url in routes:
        for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
            response = await api.http.request(method, url, headers=headers)
            assert response.status_code == 401, (method, url, headers)
            assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_lists_show_each_role_only_its_own_orders(api: Api) -> None:
    own = (await api.place())["id"]
    mcn_order = (await api.place(creator_id=MCN_CREATOR.id))["id"]

    async def listed(actor: Actor) -> set[str]:
        response = await api.http.get("/orders", headers=api.auth(actor))
        assert response.status_code == 200
        return {item["id"] for item in response.json()["items"]}

    assert await listed(CLIENT) == {own, mcn_order}
    assert await listed(OTHER_CLIENT) == set()
    assert await listed(CREATOR) == {own}
    assert await listed(OTHER_CREATOR) == set()
    assert await listed(MCN_CREATOR) == {mcn_order}
    assert await listed(MCN) == {mcn_order}
    assert await listed(REVIEWER) == set()  # nothing waits for review
    assert await listed(OPS) == {own, mcn_order}


async def test_review_queues_are_for_reviewers_and_ops(api: Api) -> None:
    for actor in EVERYONE:
        response = await api.http.get("/reviews/queue?kind=video", headers=api.auth(actor))
        allowed = actor.role in (Role.REVIEWER, Role.OPS)
        assert response.status_code == (200 if allowed else 403), actor.id


async def test_only_clients_place_orders(api: Api) -> None:
    body = {"creator_id": CREATOR.id, "product": "Tea", "requirements": "Pour it"}
    for actor in EVERYONE:
        if actor.role is Role.CLIENT:
            continue
        response = await api.http.post("/orders", json=body, headers=api.keyed(actor))
        assert response.status_code == 403, actor.id


async def test_staff_accounts_cannot_be_made_by_sign_up(api: Api) -> None:
    for role in ("reviewer", "ops"):
        response = await api.http.post(
            "/auth/signup",
            json={
                "username": f"sneaky-{role}",
                "password": "long enough pw",
                "role": role,
                "display_name": "x",
            },
        )
        assert response.status_code == 422, role
