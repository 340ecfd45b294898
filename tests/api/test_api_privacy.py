"""Virtual numbers, and a client never receiving a creator's real phone or e-mail (C4, O3)."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.stack import CLIENT, CREATOR, REVIEWER

CREATOR_PHONE = "13800138000"  # what seed onboarding gives every test creator
CREATOR_EMAIL = f"{CREATOR.id}@example.com"


async def test_each_side_gets_a_virtual_number_after_acceptance(api: Api) -> None:
    # rules C4 O3
    order_id = (await api.place())["id"]
    before = await api.http.get(f"/orders/{order_id}/contact", headers=api.auth(CLIENT))
    assert before.status_code == 409
    assert "once the creator accepts" in before.json()["detail"]

    await api.act(CREATOR, order_id, "accept")
    for_client = (
        await api.http.get(f"/orders/{order_id}/contact", headers=api.auth(CLIENT))
    ).json()
    for_creator = (
        await api.http.get(f"/orders/{order_id}/contact", headers=api.auth(CREATOR))
    ).json()
    assert for_client["counterpart_role"] == "creator"
    assert for_creator["counterpart_role"] == "client"
    assert for_client["virtual_number"].startswith("170")
    assert len(for_client["virtual_number"]) == 11
    assert for_client["virtual_number"] != for_creator["virtual_number"]
    assert CREATOR_PHONE not in for_client["virtual_number"]
    again = (await api.http.get(f"/orders/{order_id}/contact", headers=api.auth(CLIENT))).json()
    assert again == for_client  # the same number every time
    reviewer = await api.http.get(f"/orders/{order_id}/contact", headers=api.auth(REVIEWER))
    assert reviewer.status_code == 403


async def test_no_route_a_client_calls_reveals_the_creators_real_contact(api: Api) -> None:
    # rule C4
    order_id = (await api.place())["id"]
    bodies: list[str] = []
    steps = [
        (CREATOR, "accept", None),
        (CREATOR, "script", {"text": "draft"}),
        (REVIEWER, "script/review", {"approve": True}),
        (CLIENT, "script/confirm", None),
        (CREATOR, "video", {"video_id": "private-v1"}),
        (REVIEWER, "video/review", {"approve": True}),
        (CLIENT, "video/confirm", None),
        (CLIENT, "publish", None),
        (CLIENT, "accept-delivery", None),
    ]
    for actor, path, body in steps:
        response = await api.act(actor, order_id, path, body)
        assert response.status_code == 200
        if actor is CLIENT:
            bodies.append(response.text)
    client_reads = [
        "/me",
        "/orders",
        f"/orders/{order_id}",
        f"/orders/{order_id}/timeline",
        f"/orders/{order_id}/contact",
        f"/orders/{order_id}/stats",
        f"/orders/{order_id}/stats/plays.svg",
        "/creators",
        f"/creators/{CREATOR.id}",
        "/wallet",
        "/wallet/statement",
        "/me/notifications",
        "/openapi.json",
    ]
    for path in client_reads:
        response = await api.http.get(path, headers=api.auth(CLIENT))
        assert response.status_code == 200, path
        bodies.append(response.text)
    for text in bodies:
        assert CREATOR_PHONE not in text
        assert CREATOR_EMAIL not in text
    # The creator itself does see its own details.
    own = (await api.http.get("/creators/me", headers=api.auth(CREATOR))).json()
    assert (own["phone"], own["email"]) == (CREATOR_PHONE, CREATOR_EMAIL)
