"""The machine pre-review of ad-law wording over HTTP (rule B2): in the script upload's answer
(warn mode), as a refusal that the order never hears of (refuse mode), in the reviewers'
queue, and on its own at POST /prereview."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from adapters.video_platform import VideoDetails
from api.main import create_app
from services import creators
from services.prereview import Mode, load_terms
from tests.api.conftest import OPS, Api, api_settings
from tests.stack import CLIENT, CREATOR, REVIEWER

SCRIPT = "开场：这是全网第一的酱油，最\u3000佳的味道。"
# What the pre-review finds in it: (term, as written).
FOUND = [("全网第一", "全网第一"), ("最佳", "最\u3000佳")]
VERSION = load_terms().version


def terms(pre_review: dict[str, Any], text: str) -> list[tuple[str, str]]:
    """(term, text) of each match, after checking that its position maps back into `text`."""
    assert pre_review["version"] == VERSION
    for m in pre_review["matches"]:
        assert text[m["start"] : m["end"]] == m["text"], m
    return [(m["term"], m["text"]) for m in pre_review["matches"]]


async def script_pending(api: Api) -> str:
    order_id = str((await api.place())["id"])
    accepted = await api.act(CREATOR, order_id, "accept")
    assert accepted.json()["status"] == "script_pending", accepted.text
    return order_id


@asynccontextmanager
async def refusing(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """The same API, configured to refuse a script with matches (XIGUA_PREREVIEW_MODE)."""
    settings = api_settings(api.stack).model_copy(update={"prereview_mode": Mode.REFUSE})
    app = create_app(settings, engine=api.stack.engine, temporal=api.stack.client)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        yield http


async def test_warn_mode_accepts_the_script_and_its_answer_shows_the_matches(api: Api) -> None:
    # rule B2
    order_id = await script_pending(api)
    response = await api.act(CREATOR, order_id, "script", {"text": SCRIPT})
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "script_in_review"
    [script] = order["scripts"]
    assert terms(script["pre_review"], script["text"]) == FOUND
    match = script["pre_review"]["matches"][0]
    assert (match["start"], match["end"], match["article"]) == (5, 9, "第九条第（三）项")
    # The client reads the same, computed from the stored script.
    read = await api.http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))
    assert read.json()["scripts"][0]["pre_review"] == script["pre_review"]


async def test_positions_count_in_the_script_as_stored_trimmed(api: Api) -> None:
    # rule B2: the stored script is trimmed; positions index what is stored and shown
    order_id = await script_pending(api)
    response = await api.act(CREATOR, order_id, "script", {"text": "  \n 最佳酱油"})
    [script] = response.json()["scripts"]
    assert script["text"] == "最佳酱油"
    assert script["pre_review"]["matches"][0]["start"] == 0


async def test_refuse_mode_answers_422_and_the_order_never_hears_of_it(api: Api) -> None:
    # rule B2
    order_id = await script_pending(api)
    async with refusing(api) as http:
        headers = api.keyed(CREATOR)
        path = f"/orders/{order_id}/script"
        refused = await http.post(path, json={"text": SCRIPT}, headers=headers)
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert refused.headers["content-type"] == "application/problem+json"
        assert problem["type"] == "urn:xigua-tasks:problem:AdLawTerms"
        assert "全网第一、最佳" in problem["detail"]
        assert terms(problem["pre_review"], SCRIPT) == FOUND
        # Repeated with its key: the same answer, replayed.
        again = await http.post(path, json={"text": SCRIPT}, headers=headers)
        assert again.status_code == 422
        assert again.headers.get("idempotent-replayed") == "true"
        assert again.json()["pre_review"] == problem["pre_review"]

        order = (await http.get(f"/orders/{order_id}", headers=api.auth(CREATOR))).json()
        assert (order["status"], order["scripts"]) == ("script_pending", [])
        timeline = await http.get(f"/orders/{order_id}/timeline", headers=api.auth(CLIENT))
        assert "submit_script" not in {e["action"] for e in timeline.json()}

        # Reworded, it goes through in the same mode.
        clean = await http.post(
            path, json={"text": "开场：一勺酱油，一桌家常菜。"}, headers=api.auth(CREATOR)
        )
        assert clean.status_code == 200, clean.text
        assert clean.json()["scripts"][0]["pre_review"]["matches"] == []


async def test_the_script_queue_shows_each_script_with_its_matches(api: Api) -> None:
    # rule B2
    flagged, clean = await script_pending(api), await script_pending(api)
    await api.act(CREATOR, flagged, "script", {"text": SCRIPT})
    await api.act(CREATOR, clean, "script", {"text": "一勺酱油，一桌家常菜。"})
    response = await api.http.get("/reviews/queue?kind=script", headers=api.auth(REVIEWER))
    assert response.status_code == 200, response.text
    items = {item["order_id"]: item for item in response.json()["items"]}
    [text] = items[flagged]["texts"]
    assert (text["source"], text["text"]) == ("script", SCRIPT)
    assert terms(text["pre_review"], text["text"]) == FOUND
    [text] = items[clean]["texts"]
    assert text["pre_review"]["matches"] == []


async def test_the_video_queue_shows_matches_in_the_title_and_description(api: Api) -> None:
    # rule B2: where the platform gives them; a video without either has no texts
    account = creators.profile(api.stack.engine, CREATOR.id).xigua_account_id
    assert account is not None
    details = VideoDetails(title="ＴＯＰ１酱油", description="根 治 嘴馋，第一次就爱上。")
    api.stack.platform.upload("xg-titled", account, details)
    orders = {}
    for video_id in ("xg-titled", "xg-untitled"):
        order_id = str((await api.place(skip_script=True))["id"])
        await api.act(CREATOR, order_id, "accept")
        submitted = await api.act(CREATOR, order_id, "video", {"video_id": video_id})
        assert submitted.status_code == 200, submitted.text
        orders[video_id] = order_id
    response = await api.http.get("/reviews/queue?kind=video", headers=api.auth(REVIEWER))
    items = {item["order_id"]: item for item in response.json()["items"]}
    title, description = items[orders["xg-titled"]]["texts"]
    assert (title["source"], title["text"]) == ("video_title", "ＴＯＰ１酱油")
    assert terms(title["pre_review"], title["text"]) == [("TOP1", "ＴＯＰ１")]
    assert description["source"] == "video_description"
    assert terms(description["pre_review"], description["text"]) == [("根治", "根 治")]
    assert description["pre_review"]["matches"][0]["article"] == "第十七条"
    assert items[orders["xg-untitled"]]["texts"] == []


async def test_the_simulator_sets_a_video_title_for_ops_only(api: Api) -> None:
    # rule B2: the platform's side of a title, driven as the creator would on Xigua
    account = creators.profile(api.stack.engine, CREATOR.id).xigua_account_id
    body = {"xigua_account_id": account, "title": "极品酱油", "description": "好吃"}
    put = await api.http.put("/simulator/videos/xg-sim", json=body, headers=api.auth(OPS))
    assert put.status_code == 204, put.text
    assert api.stack.platform.details("xg-sim") == VideoDetails(
        title="极品酱油", description="好吃"
    )
    creator = await api.http.put("/simulator/videos/xg-sim", json=body, headers=api.auth(CREATOR))
    assert creator.status_code == 403
    elsewhere = {**body, "xigua_account_id": "xg-someone-else"}
    taken = await api.http.put("/simulator/videos/xg-sim", json=elsewhere, headers=api.auth(OPS))
    assert taken.status_code == 404


async def test_the_standalone_route_reviews_any_text_for_any_signed_in_user(api: Api) -> None:
    # rule B2
    text = "  独家配方，１００％有效\n"
    for actor in (CLIENT, CREATOR, REVIEWER):
        response = await api.http.post("/prereview", json={"text": text}, headers=api.auth(actor))
        assert response.status_code == 200, response.text
        # Not trimmed: positions count in the text as sent.
        assert terms(response.json(), text) == [("独家", "独家"), ("100%有效", "１００％有效")]
        assert response.json()["matches"][0]["start"] == 2


async def test_the_standalone_route_is_bounded_and_needs_a_token(api: Api) -> None:
    # rules B2 A1
    unauthenticated = await api.http.post("/prereview", json={"text": "最佳"})
    assert unauthenticated.status_code == 401
    headers = api.auth(CREATOR)
    longest = await api.http.post("/prereview", json={"text": "好" * 5000}, headers=headers)
    assert longest.status_code == 200
    too_long = await api.http.post("/prereview", json={"text": "好" * 5001}, headers=headers)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["loc"] == ["body", "text"]
    for bad in ("", "最\u202e佳", "最\x00佳"):
        refused = await api.http.post("/prereview", json={"text": bad}, headers=headers)
        assert refused.status_code == 422, bad
    unknown = await api.http.post("/prereview", json={"text": "a", "mode": "x"}, headers=headers)
    assert unknown.status_code == 422
