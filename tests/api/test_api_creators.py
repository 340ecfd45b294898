"""Opening the task, the creator square and credit, over HTTP (rules C1-C6, S1, O9)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from adapters.video_platform import AccountMetrics, AccountOwner, LoginPlatform
from db.schema import creators as creators_table
from scripts.seed import ELIGIBLE
from services import creators
from services.auth import set_password
from services.users import create_user
from tests.api.conftest import OPS, PASSWORD, Api
from tests.stack import CLIENT, CREATOR, MCN_CREATOR, OTHER_CREATOR, PRICE
from workflows.messages import Actor, Role

NEW = Actor(id="newcomer", role=Role.CREATOR)


async def newcomer(api: Api, actor: Actor = NEW) -> dict[str, str]:
    create_user(api.stack.engine, actor.id, actor.role, actor.id)
    set_password(api.stack.engine, actor.id, actor.id, PASSWORD)
    token = await api.http.post("/auth/token", data={"username": actor.id, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def put(api: Api, headers: dict[str, str], path: str, body: Any) -> httpx.Response:
    return await api.http.put(path, json=body, headers=headers)


SIGNED_IN = AccountOwner(login_platform=LoginPlatform.DOUYIN, login_account="dy-1")


def bind_body(account: str) -> dict[str, str]:
    return {"login_platform": "douyin", "login_account": "dy-1", "xigua_account_id": account}


def on_xigua(
    api: Api, account: str, metrics: AccountMetrics = ELIGIBLE, owner: AccountOwner = SIGNED_IN
) -> None:
    """An account as it exists on the platform, by default one of the newcomer's login."""
    api.stack.platform.set_account(account, metrics, owner)


async def test_a_xigua_account_binds_to_one_creator_only(api: Api) -> None:
    # rule C1
    me = await newcomer(api)
    on_xigua(api, "xg-new")
    response = await put(api, me, "/creators/me/xigua-account", bind_body("xg-new"))
    assert response.status_code == 200
    assert response.json()["xigua_account_id"] == "xg-new"
    # The seeded creator's account, claimed with the seeded creator's own login.
    taken = await put(
        api,
        me,
        "/creators/me/xigua-account",
        {**bind_body(f"xg-{CREATOR.id}"), "login_account": f"dy-{CREATOR.id}"},
    )
    assert taken.status_code == 409
    assert "bound to another creator" in taken.json()["detail"]
    wrong_platform = await put(
        api, me, "/creators/me/xigua-account", {**bind_body("x"), "login_platform": "weibo"}
    )
    assert wrong_platform.status_code == 422
    assert (await api.http.get("/creators/me", headers=me)).json()["xigua_account_id"] == "xg-new"


async def test_a_mistyped_xigua_account_is_refused_at_binding(api: Api) -> None:
    # rule C1: refused at once, not found out at the application
    me = await newcomer(api)
    on_xigua(api, "xg-real")
    typo = await put(api, me, "/creators/me/xigua-account", bind_body("xg-raal"))
    assert typo.status_code == 422
    assert typo.json()["detail"] == (
        "there is no Xigua account xg-raal: check the id on its Xigua profile"
    )
    profile = (await api.http.get("/creators/me", headers=me)).json()
    assert profile["xigua_account_id"] is None
    # Nothing is held: the right id binds at once, and the application goes ahead.
    assert (
        await put(api, me, "/creators/me/xigua-account", bind_body("xg-real"))
    ).status_code == 200
    applied = await api.http.post("/creators/me/task-application", headers=me)
    assert applied.status_code == 200
    assert applied.json()["approved"] is True


async def test_a_xigua_account_of_another_login_is_refused(api: Api) -> None:
    # rule C1
    me = await newcomer(api)
    someone_else = AccountOwner(login_platform=LoginPlatform.TOUTIAO, login_account="tt-99")
    on_xigua(api, "xg-theirs", owner=someone_else)
    for claimed_as in (
        bind_body("xg-theirs"),
        {**bind_body("xg-theirs"), "login_platform": "toutiao"},
    ):
        refused = await put(api, me, "/creators/me/xigua-account", claimed_as)
        assert refused.status_code == 409
        assert "does not belong to the" in refused.json()["detail"]
    assert (await api.http.get("/creators/me", headers=me)).json()["xigua_account_id"] is None
    with api.stack.engine.connect() as conn:
        holders = conn.execute(
            select(creators_table.c.user_id).where(creators_table.c.xigua_account_id == "xg-theirs")
        ).all()
    assert holders == []


async def test_until_the_task_is_opened_a_creator_may_rebind_or_unbind(api: Api) -> None:
    # rule C1
    me = await newcomer(api)
    for account in ("xg-first", "xg-second"):
        on_xigua(api, account)
    assert (
        await put(api, me, "/creators/me/xigua-account", bind_body("xg-first"))
    ).status_code == 200
    rebound = await put(api, me, "/creators/me/xigua-account", bind_body("xg-second"))
    assert rebound.status_code == 200, rebound.text
    assert rebound.json()["xigua_account_id"] == "xg-second"
    # The first one is free again: another creator of the same login may take it.
    other = await newcomer(api, Actor(id="newcomer-2", role=Role.CREATOR))
    assert (
        await put(api, other, "/creators/me/xigua-account", bind_body("xg-first"))
    ).status_code == 200

    unbound = await api.http.delete("/creators/me/xigua-account", headers=me)
    assert unbound.status_code == 200
    assert unbound.json()["xigua_account_id"] is None
    refused = await api.http.post("/creators/me/task-application", headers=me)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "bind a Xigua account before applying"

    # Once the task is open, the account is the one the creator was judged on: it stays.
    assert (
        await put(api, me, "/creators/me/xigua-account", bind_body("xg-second"))
    ).status_code == 200
    assert (await api.http.post("/creators/me/task-application", headers=me)).json()["approved"]
    on_xigua(api, "xg-third")
    for response in (
        await put(api, me, "/creators/me/xigua-account", bind_body("xg-third")),
        await api.http.delete("/creators/me/xigua-account", headers=me),
    ):
        assert response.status_code == 409
        assert "the task is open on Xigua account xg-second" in response.json()["detail"]
    again = await put(api, me, "/creators/me/xigua-account", bind_body("xg-second"))
    assert again.status_code == 200  # binding the same account again changes nothing


async def test_an_ineligible_application_lists_every_unmet_condition(api: Api) -> None:
    # rule C2
    me = await newcomer(api)
    on_xigua(
        api,
        "xg-small",
        AccountMetrics(
            fans_toutiao=3_000, fans_xigua=2_000, unhealthy=True, original=False,
            recent_plays=[900] * 25,
        ),
    )  # fmt: skip
    await put(api, me, "/creators/me/xigua-account", bind_body("xg-small"))
    refused = (await api.http.post("/creators/me/task-application", headers=me)).json()
    assert refused["approved"] is False
    assert [(c["condition"], c["measured"], c["threshold"]) for c in refused["unmet"]] == [
        ("fans on Toutiao and Xigua", 5_000, 10_000),
        ("no unhealthy-content flag", True, False),
        ("original (原创) permission", False, True),
        ("average plays of the 20 latest videos", 900, 1_000),
    ]
    assert (await api.http.get("/creators/me", headers=me)).json()["task_opened"] is False

    # Read at the moment of applying: the account grew, the next application passes.
    on_xigua(api, "xg-small")
    approved = (await api.http.post("/creators/me/task-application", headers=me)).json()
    assert approved["approved"] is True
    assert approved["unmet"] == []
    profile = (await api.http.get("/creators/me", headers=me)).json()
    assert (profile["task_opened"], profile["fans"], profile["avg_plays"]) == (True, 83_000, 4_800)


async def test_only_the_20_latest_videos_count_and_the_thresholds_are_configuration(
    api: Api,
) -> None:
    # rule C2
    metrics = ELIGIBLE.model_copy(update={"recent_plays": [1_000] * 20 + [0] * 30})
    checks = creators.judge(83_000, False, True, 1_000, creators.Thresholds())
    assert all(c.passed for c in checks)
    tt = AccountOwner(login_platform=LoginPlatform.TOUTIAO, login_account="tt")
    on_xigua(api, "xg-strict", metrics, owner=tt)
    create_user(api.stack.engine, "strict", Role.CREATOR, "strict")
    creators.bind_xigua_account(
        api.stack.engine, api.stack.platform, "strict", LoginPlatform.TOUTIAO, "tt", "xg-strict"
    )
    stricter = creators.Thresholds(min_avg_plays=1_001)
    result = creators.apply_for_task(api.stack.engine, api.stack.platform, "strict", stricter)
    assert [c.measured for c in result.unmet] == [1_000]


async def test_a_creator_becomes_orderable_only_with_every_step_done(api: Api) -> None:
    # rules C3 C4 C5
    me = await newcomer(api)
    body = {"creator_id": NEW.id, "product": "Tea", "requirements": "Pour it"}

    async def refusal() -> str:
        response = await api.http.post("/orders", json=body, headers=api.keyed(CLIENT))
        assert response.status_code == 409
        return str(response.json()["detail"])

    assert "has not opened" in await refusal()
    on_xigua(api, "xg-fresh")
    await put(api, me, "/creators/me/xigua-account", bind_body("xg-fresh"))
    await api.http.post("/creators/me/task-application", headers=me)
    for bad in (0, -5, 1.5, "100"):
        assert (await put(api, me, "/creators/me/quote", {"quote_fen": bad})).status_code == 422
    await put(api, me, "/creators/me/quote", {"quote_fen": 50_000})
    for phone, email in [
        ("12345", "a@b.cn"),
        ("13800138000", "not-an-email"),
        ("1380013800x", "a@b.cn"),
    ]:
        response = await put(api, me, "/me/contact", {"phone": phone, "email": email})
        assert response.status_code == 422, (phone, email)
    reasons = await refusal()
    assert "contact phone and e-mail" in reasons
    assert "is not accepting orders" in reasons
    assert "has set no quote" not in reasons
    await put(api, me, "/me/contact", {"phone": "13912345678", "email": "newcomer@example.com"})
    await put(api, me, "/creators/me/accepting", {"accepting": True})

    profile = (await api.http.get("/creators/me", headers=me)).json()
    assert profile["orderable"] is True
    assert profile["not_orderable_because"] == []
    placed = await api.http.post("/orders", json=body, headers=api.keyed(CLIENT))
    assert placed.status_code == 201
    api.stack.placed.append(placed.json()["id"])
    assert placed.json()["price_fen"] == 50_000


async def test_switching_accepting_off_hides_the_creator_but_running_orders_go_on(api: Api) -> None:
    # rule C6
    order = await api.place()
    await api.act(CREATOR, order["id"], "accept")
    creators.set_accepting(api.stack.engine, CREATOR.id, False)
    square = (await api.http.get("/creators", headers=api.auth(CLIENT))).json()
    assert CREATOR.id not in [c["id"] for c in square["items"]]
    body = {"creator_id": CREATOR.id, "product": "Tea", "requirements": "Pour it"}
    refused = await api.http.post("/orders", json=body, headers=api.keyed(CLIENT))
    assert refused.status_code == 409
    going_on = await api.act(CREATOR, order["id"], "script", {"text": "still working"})
    assert going_on.json()["status"] == "script_in_review"


async def test_the_square_filters_sorts_and_pages_orderable_creators(api: Api) -> None:
    # rule S1
    for i, (price, fans, plays, category) in enumerate(
        [(30_000, 20_000, 2_000, "beauty"), (60_000, 90_000, 9_000, "food"),
         (90_000, 40_000, 1_500, "food"), (60_000, 15_000, 3_000, "tech")]
    ):  # fmt: skip
        creator_id = f"square-{i}"
        create_user(api.stack.engine, creator_id, Role.CREATOR, creator_id)
        from scripts.seed import onboard

        metrics = ELIGIBLE.model_copy(
            update={"fans_toutiao": fans, "fans_xigua": 0, "recent_plays": [plays] * 20}
        )
        onboard(
            api.stack.engine,
            api.stack.platform,
            creator_id,
            price,
            category=category,
            metrics=metrics,
        )

    async def square(**params: Any) -> list[str]:
        response = await api.http.get("/creators", params=params, headers=api.auth(CLIENT))
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"] if c["id"].startswith("square-")]

    assert await square() == ["square-0", "square-1", "square-3", "square-2"]  # price, then id
    assert await square(max_price_fen=60_000) == ["square-0", "square-1", "square-3"]
    assert await square(min_fans=40_000, sort="fans", descending=True) == ["square-1", "square-2"]
    assert await square(min_avg_plays=2_500, sort="plays") == ["square-3", "square-1"]
    assert await square(category="food") == ["square-1", "square-2"]

    everyone = [
        c["id"]
        for c in (
            await api.http.get("/creators", params={"limit": 100}, headers=api.auth(CLIENT))
        ).json()["items"]
    ]
    assert OTHER_CREATOR.id not in everyone  # not accepting orders: not orderable
    paged: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.http.get("/creators", params=params, headers=api.auth(CLIENT))).json()
        paged += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == everyone  # no card twice, none missing

    card = (await api.http.get("/creators", headers=api.auth(OPS))).json()["items"][0]
    assert set(card) == {
        "id",
        "display_name",
        "quote_fen",
        "fans",
        "avg_plays",
        "category",
        "credit_score",
        "in_mcn",
    }


async def test_a_violation_lowers_the_creators_credit_on_its_card_once(api: Api) -> None:
    # rule O9
    assert creators.lower_credit(api.stack.engine, MCN_CREATOR.id, "order-x", "deleted on day 10")
    assert not creators.lower_credit(api.stack.engine, MCN_CREATOR.id, "order-x", "retried")
    card = (await api.http.get(f"/creators/{MCN_CREATOR.id}", headers=api.auth(CLIENT))).json()
    assert card["credit_score"] == 100 - 25
    assert card["quote_fen"] == PRICE


async def test_creator_routes_are_for_creators(api: Api) -> None:
    for path in ("/creators/me",):
        assert (await api.http.get(path, headers=api.auth(CLIENT))).status_code == 403
    response = await put(api, api.auth(CLIENT), "/creators/me/quote", {"quote_fen": 5})
    assert response.status_code == 403
