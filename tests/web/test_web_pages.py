"""Every page of every role, in both languages: each form control labelled, nothing logged to
the console, nothing wider than a 375 px phone; screenshots of the main pages. And the app's
own tables checked against the system's: every action, every outcome, every word."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize
from sqlalchemy import select

from api.main import create_app
from config import Settings
from db.schema import users
from scripts.seed import (
    DEMO_CLIENT,
    DEMO_CREATOR,
    DEMO_MCN,
    DEMO_OPS,
    DEMO_PASSWORD,
    DEMO_REVIEWER,
)
from tests.web.conftest import Ui, WebSystem, ok, signed_in
from workflows.actions import ACTIONS
from workflows.deadlines import BY_KIND
from workflows.errors import ErrorKind
from workflows.messages import Action, OrderStatus, Outcome, Role

WEB = Path(__file__).resolve().parents[2] / "api" / "web"
# `make screenshots` sets this to docs/screenshots, where the README's pictures live.
SCREENSHOTS = os.environ.get("XIGUA_WEB_SCREENSHOTS")
PHONE = ViewportSize(width=375, height=740)

UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button")]
  .filter((el) => el.type !== "hidden")
  .filter((el) => {
    if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return false;
    if (el.tagName === "BUTTON") return !el.textContent.trim();
    return !(el.labels && el.labels.length);
  })
  .map((el) => el.outerHTML.slice(0, 160))"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


async def shown(page: Page, hash: str, lang: str) -> None:
    """Go to the app's page `hash` and wait until it is rendered, in `lang`."""
    await page.goto(f"/app/{hash}")
    await page.wait_for_selector(f'main[data-ready="{lang}:{hash}"]')


async def check(page: Page, name: str, lang: str, shot_dir: Path, shoot: bool) -> None:
    """The page on screen: every control labelled, nothing sideways; a screenshot if asked."""
    assert await page.evaluate(UNLABELLED) == [], f"unlabelled controls on {name} ({lang})"
    assert await page.evaluate(OVERFLOW) <= 0, f"{name} ({lang}) is wider than the window"
    if shoot:
        await page.screenshot(path=shot_dir / f"{name}.{lang}.png")


async def tour(page: Page, pages: list[tuple[str, str, bool]], shot_dir: Path) -> None:
    """Each page in Chinese, then the language switched once and each page in English."""
    for lang in ("zh-CN", "en"):
        for name, hash, shoot in pages:
            await shown(page, hash, lang)
            await check(page, name, lang, shot_dir, shoot)
        if lang == "zh-CN":
            await page.select_option("#language", "en")
            await page.wait_for_selector('html[lang="en"]')
    await page.reload()  # the choice is kept
    await page.wait_for_selector('html[lang="en"] main[data-ready^="en:"]')


async def orders_to_show(web: WebSystem) -> tuple[str, str]:
    """An order waiting for its script's review, and one published with plays sampled (on the
    API whose orders sample their video every second), set up through the public API."""
    async with (
        signed_in(web.url, DEMO_CLIENT) as client,
        signed_in(web.fast_url, DEMO_CLIENT) as fast_client,
        signed_in(web.url, DEMO_CREATOR) as creator,
        signed_in(web.url, DEMO_REVIEWER) as reviewer,
        signed_in(web.url, DEMO_OPS) as ops,
    ):

        async def place(http: Any, **fields: Any) -> str:
            brief = {
                "creator_id": DEMO_CREATOR,
                "product": "珠江桥牌生抽",
                "requirements": "用它在镜头前做一道家常菜\n瓶身出镜不少于 3 秒",
                **fields,
            }
            key = {"Idempotency-Key": uuid.uuid4().hex}
            return str((await ok(http.post("/orders", json=brief, headers=key)))["id"])

        in_review, published = await asyncio.gather(
            place(client), place(fast_client, skip_script=True, product="绍兴黄酒")
        )
        await ok(creator.post(f"/orders/{in_review}/accept"))
        script = {"text": "开场：热锅下油。\n一勺珠江桥，一桌家常菜，全家人最好的晚餐。"}
        await ok(creator.post(f"/orders/{in_review}/script", json=script))

        video = f"xg-{published}"
        await ok(creator.post(f"/orders/{published}/accept"))
        await ok(creator.post(f"/orders/{published}/video", json={"video_id": video}))
        await ok(reviewer.post(f"/orders/{published}/video/review", json={"approve": True}))
        for step in ("video/confirm", "publish"):
            await ok(client.post(f"/orders/{published}/{step}"))
        # Plays between the video's samples, so that its chart has a line to draw.
        deadline = time.monotonic() + 30
        for plays in (1_200, 3_400, 5_100):
            await ok(ops.post(f"/simulator/videos/{video}/engagement", json={
                "plays": plays, "likes": plays // 20, "comments": plays // 100, "shares": 9,
                "completion_rate": 0.46}))  # fmt: skip
            samples = len((await ok(client.get(f"/orders/{published}/stats")))["samples"])
            while len((await ok(client.get(f"/orders/{published}/stats")))["samples"]) == samples:
                assert time.monotonic() < deadline, "the video was never sampled"
                await asyncio.sleep(0.2)
        return in_review, published


async def test_every_page_of_every_role_in_both_languages(
    ui: Ui, web: WebSystem, tmp_path: Path
) -> None:
    # rules S1 C2 O11 P1 (pages), and the web app's own: labels, no console error, 375 px
    shot_dir = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    shot_dir.mkdir(parents=True, exist_ok=True)
    in_review, published = await orders_to_show(web)

    anonymous = await ui.page()
    await tour(anonymous, [("login", "#/login", False), ("signup", "#/signup", False)], shot_dir)

    roles: dict[str, list[tuple[str, str, bool]]] = {
        DEMO_CLIENT: [
            ("square", "#/square", True),
            ("order-form", f"#/creators/{DEMO_CREATOR}/order", True),
            ("orders", "#/orders", False),
            ("order", f"#/orders/{published}", True),
            ("wallet", "#/wallet", True),
            ("notifications", "#/notifications", False),
            ("webhooks", "#/webhooks", False),
            ("account", "#/account", False),
        ],
        DEMO_CREATOR: [
            ("creator-orders", "#/orders", False),
            ("creator-order", f"#/orders/{in_review}", False),
            ("profile", "#/profile", True),
            ("creator-wallet", "#/wallet", False),
        ],
        DEMO_MCN: [("mcn", "#/mcn", False), ("mcn-orders", "#/orders", False)],
        DEMO_REVIEWER: [
            ("reviews", "#/reviews", True),
            ("review-order", f"#/orders/{in_review}", True),
        ],
        DEMO_OPS: [("ops", "#/ops", True), ("ops-order", f"#/orders/{published}", False)],
    }
    for username, pages in roles.items():
        await tour(await ui.login(username), pages, shot_dir)

    # The chart is there, from the API's SVG.
    client = await ui.login(DEMO_CLIENT)
    await shown(client, f"#/orders/{published}", "zh-CN")
    await client.locator("img.chart").wait_for()
    assert await client.locator("img.chart").evaluate("(img) => img.naturalWidth") > 0

    # At 375 px: the same pages, nothing sideways.
    phone = await ui.login(DEMO_CLIENT, viewport=PHONE)
    for name, hash in (
        ("square", "#/square"),
        ("order", f"#/orders/{published}"),
        ("wallet", "#/wallet"),
    ):
        await shown(phone, hash, "zh-CN")
        await check(phone, f"{name}-375px", "zh-CN", shot_dir, shoot=name == "order")


async def test_the_inbox_is_in_the_navigation_only_where_the_server_has_it(ui: Ui) -> None:
    spec = create_app(Settings(database_url="sqlite://")).openapi()
    client = await ui.login(DEMO_CLIENT)
    expected = 1 if "/me/notifications" in spec["paths"] else 0
    assert await client.locator("[data-nav=notifications]").count() == expected


async def test_sign_in_by_keyboard_and_a_refusal_in_words(ui: Ui) -> None:
    # The wrong password is answered 401, which the browser logs as a failed resource.
    ui.expected.append("status of 401")
    page = await ui.page()
    await page.goto("/app/")
    await page.wait_for_selector('main[data-ready="zh-CN:#/login"]')
    for _ in range(12):  # Tab through the header to the form: real links, real controls
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "username":
            break
    else:
        pytest.fail("the username field is not reached by Tab")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # the focus is visible
    await page.keyboard.type(DEMO_CLIENT)
    await page.keyboard.press("Tab")
    await page.keyboard.type("not the password")
    await page.keyboard.press("Enter")
    error = page.locator("[role=alert]")
    await error.wait_for()
    words = await error.inner_text()
    assert "用户名或密码错误" in words  # the problem's kind, in the viewer's language
    assert "401" not in words  # never the codes
    assert "Unauthenticated" not in words
    await page.fill("input[name=password]", DEMO_PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_selector('main[data-ready="zh-CN:#/square"]')


def words_used() -> set[str]:
    """Every literal key the app's modules look up with t("...")."""
    keys: set[str] = set()
    for source in WEB.rglob("*.js"):
        if source.name == "i18n.js":  # the dictionaries themselves (and a t("key") example)
            continue
        keys |= set(re.findall(r"\bt\(\"([A-Za-z0-9_.]+)\"", source.read_text()))
    return keys


async def test_the_apps_tables_match_the_systems(ui: Ui, web: WebSystem) -> None:
    page = await ui.page()
    await page.goto("/app/")
    await page.wait_for_selector("main[data-ready]")
    app: dict[str, Any] = await page.evaluate("""async () => {
        const [actions, orders, i18n] = await Promise.all(
            ["actions", "orderlist", "i18n"].map((name) => import(`/app/js/${name}.js`)));
        return {routes: actions.ACTION_ROUTES, atDeadline: orders.AT_DEADLINE,
                zh: Object.keys(i18n.DICTIONARIES["zh-CN"]), en: Object.keys(i18n.DICTIONARIES.en)};
    }""")  # fmt: skip
    # Every action of the workflow's table, on a route the API has.
    assert set(app["routes"]) == {a.value for a in ACTIONS}
    paths = create_app(Settings(database_url="sqlite://")).openapi()["paths"]
    for action, spec in app["routes"].items():
        assert "post" in paths.get(f"/orders/{{order_id}}/{spec['path']}", {}), action
    # Every outcome sentence the lists carry has its words.
    assert {rule.at_deadline for rule in BY_KIND.values()} <= set(app["atDeadline"])
    # Both languages have every word, and every word a page uses exists.
    zh, en = set(app["zh"]), set(app["en"])
    assert zh == en
    assert words_used() <= zh
    for prefix, values in (
        ("status", OrderStatus),
        ("action", Action),
        ("role", Role),
        ("outcome", Outcome),
        ("problem", ErrorKind),
    ):
        assert {f"{prefix}.{v.value}" for v in values} <= zh, prefix


async def test_money_and_times_as_people_read_them(ui: Ui) -> None:
    page = await ui.page()
    await page.goto("/app/")
    await page.wait_for_selector("main[data-ready]")
    got = await page.evaluate("""async () => {
        const f = await import("/app/js/format.js");
        const i18n = await import("/app/js/i18n.js");
        const now = Date.parse("2026-12-01T08:00:00Z");
        const later = new Date(now + (3 * 60 + 20) * 60000 + 30000).toISOString();
        const earlier = new Date(now - (49 * 60) * 60000).toISOString();
        const out = {
            money: [880000, 5, 0, -12345, 1000000000000].map(f.yuan),
            parsed: ["8800", "8,800.5", "0.05", "1.234", "abc", "-1", "¥12.30"].map(f.parseYuan),
            input: f.fenToInput(880050),
        };
        i18n.setLang("zh-CN");
        out.zh = [f.relative(later, now), f.relative(earlier, now)];
        i18n.setLang("en");
        out.en = [f.relative(later, now), f.relative(earlier, now)];
        i18n.setLang("zh-CN");
        return out;
    }""")  # fmt: skip
    assert got["money"] == ["¥8,800.00", "¥0.05", "¥0.00", "-¥123.45", "¥10,000,000,000.00"]
    assert got["parsed"] == [880000, 880050, 5, None, None, None, 1230]
    assert got["input"] == "8800.50"
    assert got["zh"] == ["3 小时 20 分钟后", "2 天 1 小时前"]
    assert got["en"] == ["in 3 h 20 min", "2 d 1 h ago"]


async def test_the_inbox_and_the_pre_review(ui: Ui, web: WebSystem) -> None:
    # rules N1 B2
    async with signed_in(web.url, DEMO_CLIENT) as client, signed_in(web.url, DEMO_CREATOR) as cr:
        brief = {"creator_id": DEMO_CREATOR, "product": "生抽", "requirements": "做菜"}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        order_id = (await ok(client.post("/orders", json=brief, headers=key)))["id"]
        await ok(cr.post(f"/orders/{order_id}/accept"))

    # The client is told the creator accepted: in its inbox, unread, until it marks it read.
    page = await ui.login(DEMO_CLIENT)
    await page.click("[data-nav=notifications]")
    await page.wait_for_selector('main[data-ready="zh-CN:#/notifications"]')
    told = page.locator(".notification.unread", has_text="达人已接单").filter(
        has=page.locator(f"a[href='#/orders/{order_id}']")
    )
    badge = page.locator("[data-nav=notifications] .badge")
    await told.wait_for()
    await badge.filter(has_text=re.compile(r"^\d+$")).wait_for()  # filled in after the header
    unread = int(await badge.inner_text())
    await told.locator("button").click()
    await (
        page.locator("[data-nav=notifications] .badge")
        .filter(has_text=str(unread - 1) if unread > 1 else re.compile("^$"))
        .wait_for(state="attached")
    )
    assert await told.count() == 0

    # The creator sees the pre-review's matches before sending; the reviewer, in the queue and
    # beside the buttons.
    creator = await ui.login(DEMO_CREATOR)
    await shown(creator, f"#/orders/{order_id}", "zh-CN")
    text = "一勺生抽，全家人最好的晚餐。"
    await submit_form(creator, "submit_script", text=text, check=True)
    assert await creator.locator(".prereview pre mark").inner_text() == "最好"
    assert "第九条" in await creator.locator(".prereview .matches").inner_text()
    await creator.locator("form[data-form=submit_script] button[type=submit]").click()
    await creator.wait_for_selector("h1 .status-script_in_review")
    reviewer = await ui.login(DEMO_REVIEWER)
    item = reviewer.locator(f"[data-queue=script] [data-order='{order_id}']")
    await item.locator(".flag").wait_for()
    await item.locator("a").click()
    assert await reviewer.locator(".subject pre mark").inner_text() == "最好"


async def test_a_client_registers_rotates_and_deletes_a_webhook(ui: Ui) -> None:
    # rule N2
    page = await ui.login(DEMO_CLIENT)
    await page.click("[data-nav=webhooks]")
    url = f"http://127.0.0.1:9/hooks/{uuid.uuid4().hex[:8]}"
    await page.fill("form[data-form=webhook] [name=url]", url)
    await page.click("form[data-form=webhook] button[type=submit]")
    first = await page.locator("[data-secret] code").inner_text()  # shown this once
    endpoint = page.locator("[data-webhook]", has_text=url)
    await endpoint.locator("[data-rotate]").click()
    await page.locator("[data-secret] code").filter(has_not_text=first).wait_for()
    await endpoint.locator("[data-log]").click()
    await endpoint.locator(".deliveries > *").first.wait_for()
    await endpoint.locator("[data-delete]").click()
    await endpoint.wait_for(state="detached")


async def test_a_client_gives_its_contact_details(ui: Ui, web: WebSystem) -> None:
    # rules C4 N1 (the channels' addresses)
    page = await ui.login(DEMO_CLIENT)
    await page.click("[data-nav=account]")
    form = page.locator("form[data-form=contact]")
    await form.locator("[name=phone]").fill("13700001111")
    await form.locator("[name=email]").fill("buyer@example.com")
    await form.locator("button[type=submit]").click()
    await page.locator(".toast").wait_for()
    with web.engine.connect() as conn:
        row = conn.execute(
            select(users.c.phone, users.c.email).where(users.c.id == DEMO_CLIENT)
        ).one()
    assert tuple(row) == ("13700001111", "buyer@example.com")


async def submit_form(page: Page, action: str, check: bool = False, **fields: str) -> None:
    """Fill an action's form; with `check`, ask for the pre-review instead of sending."""
    form = page.locator(f"form[data-form={action}]")
    for name, value in fields.items():
        await form.locator(f"[name={name}]").fill(value)
    if check:
        await form.locator("[data-prereview]").click()
        await form.locator(".prereview mark, .prereview p").first.wait_for()
