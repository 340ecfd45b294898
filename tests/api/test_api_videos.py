"""Videos over HTTP: one order per video, only the creator's own, and the post-publication
review of a republished video (O5, O10), each refusal a clear 4xx."""

from __future__ import annotations

from services import creators
from tests.api.conftest import Api
from tests.stack import CLIENT, CREATOR, MCN_CREATOR, REVIEWER

TO_PUBLISHED = [
    (REVIEWER, "video/review", {"approve": True}),
    (CLIENT, "video/confirm", None),
    (CLIENT, "publish", None),
]


async def with_video(api: Api, video_id: str) -> str:
    order_id = str((await api.place(skip_script=True))["id"])
    for actor, path, body in [
        (CREATOR, "accept", None),
        (CREATOR, "video", {"video_id": video_id}),
    ]:
        response = await api.act(actor, order_id, path, body)
        assert response.status_code == 200, (path, response.text)
    return order_id


async def published(api: Api, video_id: str) -> str:
    order_id = await with_video(api, video_id)
    for actor, path, body in TO_PUBLISHED:
        response = await api.act(actor, order_id, path, body)
        assert response.status_code == 200, (path, response.text)
    return order_id


def upload_elsewhere(api: Api, video_id: str) -> None:
    """Another creator's upload to its own Xigua account."""
    account = creators.profile(api.stack.engine, MCN_CREATOR.id).xigua_account_id
    api.stack.platform.upload(video_id, account)


async def test_a_video_of_another_order_or_account_is_refused_on_every_path(api: Api) -> None:
    # rules O5 O10 A1
    sold = await published(api, "xg-sold")
    await with_video(api, "xg-other")
    upload_elsewhere(api, "xg-foreign")
    pending = str((await api.place(skip_script=True))["id"])
    await api.act(CREATOR, pending, "accept")

    second_sale = await api.act(CREATOR, pending, "video", {"video_id": "xg-sold"})
    assert second_sale.status_code == 409
    assert "already linked to another order" in second_sale.json()["detail"]
    assert sold not in second_sale.json()["detail"]
    foreign = await api.act(CREATOR, pending, "video", {"video_id": "xg-foreign"})
    assert foreign.status_code == 422
    assert "is not on Xigua account" in foreign.json()["detail"]

    taken = await api.act(CREATOR, sold, "republish", {"video_id": "xg-other"})
    assert taken.status_code == 409
    assert "already linked to another order" in taken.json()["detail"]
    stranger = await api.act(CREATOR, sold, "republish", {"video_id": "xg-foreign"})
    assert stranger.status_code == 422
    order = (await api.http.get(f"/orders/{sold}", headers=api.auth(CLIENT))).json()
    assert [p["video_id"] for p in order["publications"]] == ["xg-sold"]


async def test_a_republished_video_is_reviewed_from_the_queue_and_a_rejection_takes_it_down(
    api: Api,
) -> None:
    # rules O10 A1 A4
    order_id = await published(api, "xg-first")
    response = await api.act(CREATOR, order_id, "republish", {"video_id": "xg-second"})
    assert response.status_code == 200, response.text
    assert response.json()["publications"][-1]["review_required"] is True
    assert response.json()["your_actions"] == ["republish", "propose_cancellation", "open_dispute"]

    queue = await api.http.get("/reviews/queue?kind=publication", headers=api.auth(REVIEWER))
    assert [(i["order_id"], i["kind"]) for i in queue.json()["items"]] == [
        (order_id, "publication")
    ]
    seen = await api.http.get(f"/orders/{order_id}", headers=api.auth(REVIEWER))
    assert seen.status_code == 200
    assert seen.json()["your_actions"] == ["review_publication"]
    early = await api.act(CLIENT, order_id, "accept-delivery")
    assert early.status_code == 409
    assert "awaiting review" in early.json()["detail"]
    stale = await api.act(
        REVIEWER, order_id, "publication/review", {"approve": True, "video_id": "xg-first"}
    )
    assert stale.status_code == 409  # rule O10: a review of an earlier video passes nothing
    assert "xg-second" in stale.json()["detail"]
    no_reason = await api.act(
        REVIEWER, order_id, "publication/review", {"approve": False, "video_id": "xg-second"}
    )
    assert no_reason.status_code == 422

    rejected = await api.act(
        REVIEWER,
        order_id,
        "publication/review",
        {"approve": False, "reason": "logo hidden", "video_id": "xg-second"},
    )
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["video_public"]) == ("published", False)
    timeline = (await api.http.get(f"/orders/{order_id}/timeline", headers=api.auth(CLIENT))).json()
    assert [(e["action"], e["actor_role"]) for e in timeline[-2:]] == [
        ("review_publication", "reviewer"),
        ("video_removed", "system"),
    ]
    assert timeline[-2]["reason"] == "logo hidden"
    queue = await api.http.get("/reviews/queue?kind=publication", headers=api.auth(REVIEWER))
    assert queue.json()["items"] == []

    again = await api.act(CREATOR, order_id, "republish", {"video_id": "xg-third"})
    assert again.status_code == 200, again.text
    assert again.json()["publications"][-1]["video_id"] == "xg-third"
