"""A whole order by clicking, as the client, the creator and the reviewer, each in a browser
context of its own, through a script rejection and a video rejection to the payout; then the
wallets the app shows against the ledger. And ops find an overdue order in their attention list
and move its deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page

from db import ledger
from scripts.seed import DEMO_CLIENT, DEMO_CREATOR, DEMO_OPS, DEMO_QUOTE_FEN, DEMO_REVIEWER
from tests.web.conftest import TIMEZONE, Ui, WebSystem, ok, signed_in

FEE_FEN = (DEMO_QUOTE_FEN * 500 + 5_000) // 10_000  # the default 5 % fee, rounded half up


def yuan(fen: int) -> str:
    """The app's money format, in integers: ¥8,800.00."""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


async def status_is(page: Page, status: str) -> None:
    await page.wait_for_selector(f"h1 .status-{status}")


async def refreshed(page: Page, status: str) -> None:
    """The order page read again (another party has acted), showing `status`."""
    await page.click("[data-refresh]")
    await status_is(page, status)


async def submit(page: Page, action: str, **fields: str) -> None:
    form = page.locator(f"form[data-form={action}]")
    for name, value in fields.items():
        await form.locator(f"[name={name}]").fill(value)
    await form.locator("button[type=submit]").click()


async def review(reviewer: Page, kind: str, order_id: str, reason: str | None) -> None:
    """From the queue to the order, approve (no reason) or reject (a reason), back to the queue."""
    await reviewer.click("[data-nav=reviews]")
    item = reviewer.locator(f"[data-queue={kind}] [data-order='{order_id}']")
    await item.locator(".waiting").wait_for()  # its waiting time is shown
    await item.locator("a").click()
    form = reviewer.locator(f"form[data-form=review_{kind}]")
    if reason is None:
        await form.locator("[data-verdict=approve]").click()
    else:
        await form.locator("[name=reason]").fill(reason)
        await form.locator("[data-verdict=reject]").click()
    await reviewer.wait_for_url("**/app/#/reviews")
    await reviewer.locator(f"[data-queue={kind}] [data-order='{order_id}']").wait_for(
        state="detached"
    )


async def test_a_whole_order_by_clicking_through_rejections_to_the_payout(
    ui: Ui, web: WebSystem
) -> None:
    # rules O1 O3 O4 O5 O6 O7 O8 S1 A4
    client = await ui.login(DEMO_CLIENT)
    creator = await ui.login(DEMO_CREATOR)
    reviewer = await ui.login(DEMO_REVIEWER)
    client_before = ledger.balance(web.engine, ledger.client_account(DEMO_CLIENT))

    # The client finds the creator in the square and sees quote, fee and total before paying.
    await client.locator(f"[data-creator={DEMO_CREATOR}] a").click()
    await client.fill("[name=product]", "Pearl River soy sauce")
    await client.fill("[name=requirements]", "Cook one dish with it on camera")
    await client.click("form button[type=submit]")
    confirm = client.locator(".confirm")
    assert await confirm.locator("[data-money=price]").inner_text() == yuan(DEMO_QUOTE_FEN)
    assert await confirm.locator("[data-money=fee]").inner_text() == yuan(FEE_FEN)
    assert await confirm.locator("[data-money=total]").inner_text() == yuan(
        DEMO_QUOTE_FEN + FEE_FEN
    )
    await confirm.locator("[data-confirm=place]").click()
    await status_is(client, "awaiting_acceptance")
    order_id = client.url.rsplit("/", 1)[1]

    # The creator finds it in its orders, accepts it, and writes a script.
    await creator.click("[data-nav=orders]")
    await creator.locator(f"[data-order='{order_id}'] a").click()
    await creator.click("[data-action=accept]")
    await status_is(creator, "script_pending")
    await submit(creator, "submit_script", text="Open on the wok: the best sauce in China.")
    await status_is(creator, "script_in_review")

    await review(reviewer, "script", order_id, "absolute claim: the best in China")
    await refreshed(creator, "script_pending")
    assert "absolute claim" in await creator.locator("[data-script='1']").inner_text()
    await submit(creator, "submit_script", text="Open on the wok: one spoon, one family dinner.")
    await status_is(creator, "script_in_review")
    await review(reviewer, "script", order_id, None)

    await refreshed(client, "script_awaiting_client")
    await client.click("[data-action=confirm_script]")
    await status_is(client, "video_pending")

    await refreshed(creator, "video_pending")
    await submit(creator, "submit_video", video_id=f"xg-{order_id}-1")
    await status_is(creator, "video_in_review")
    await review(reviewer, "video", order_id, "the bottle is never shown")
    await refreshed(creator, "video_pending")
    await submit(creator, "submit_video", video_id=f"xg-{order_id}-2")
    await status_is(creator, "video_in_review")
    await review(reviewer, "video", order_id, None)

    await refreshed(client, "video_awaiting_client")
    await client.click("[data-action=confirm_video]")
    await status_is(client, "awaiting_publish")
    await client.click("[data-action=publish]")
    await client.click("[data-confirm=publish]")  # asked once more: it goes public
    await status_is(client, "published")
    await client.click("[data-action=accept_delivery]")
    await client.click("[data-confirm=accept_delivery]")  # asked once more: money moves
    await status_is(client, "in_retention")

    # Every step is in the timeline, with the reviewers' reasons; the virtual number is shown.
    timeline = await client.locator("ol.timeline").inner_text()
    assert "absolute claim: the best in China" in timeline
    assert "the bottle is never shown" in timeline
    assert await client.locator("a.phone").count() == 1

    # The client tops up and the creator withdraws part of its pay, on their wallet pages.
    await client.click("[data-nav=wallet]")
    await submit(client, "top_up", amount="500")
    await (
        client.locator("[data-money=balance]")
        .filter(has_text=yuan(client_before - DEMO_QUOTE_FEN - FEE_FEN + 50_000))
        .wait_for()
    )
    creator_paid = ledger.balance(web.engine, ledger.creator_account(DEMO_CREATOR))
    assert creator_paid >= DEMO_QUOTE_FEN
    await creator.click("[data-nav=wallet]")
    await submit(creator, "withdraw", amount="1,000.50", bank_account="6222020200112233445")
    await (
        creator.locator("[data-money=balance]")
        .filter(has_text=yuan(creator_paid - 100_050))
        .wait_for()
    )

    # The wallets show what the ledger holds, to the fen.
    client_balance = ledger.balance(web.engine, ledger.client_account(DEMO_CLIENT))
    creator_balance = ledger.balance(web.engine, ledger.creator_account(DEMO_CREATOR))
    assert client_balance == client_before - DEMO_QUOTE_FEN - FEE_FEN + 50_000
    assert creator_balance == creator_paid - 100_050
    await client.click("[data-nav=wallet]")
    assert await client.locator("[data-money=balance]").inner_text() == yuan(client_balance)
    await creator.click("[data-nav=wallet]")
    assert await creator.locator("[data-money=balance]").inner_text() == yuan(creator_balance)
    statement = await creator.locator("table.statement").inner_text()
    assert yuan(DEMO_QUOTE_FEN) in statement  # the payout
    assert yuan(-100_050) in statement  # the withdrawal


def local_input(moment: datetime) -> str:
    """A datetime-local input's value in the browser's time zone."""
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%dT%H:%M")


async def overdue_order(web: WebSystem) -> str:
    """An accepted order whose script is overdue, placed on the API with short script time;
    waited for by polling its view, with a bound."""
    async with (
        signed_in(web.fast_url, DEMO_CLIENT) as client,
        signed_in(web.fast_url, DEMO_CREATOR) as creator,
    ):
        brief = {"creator_id": DEMO_CREATOR, "product": "Rice wine", "requirements": "Pour it"}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        order_id = (await ok(client.post("/orders", json=brief, headers=key)))["id"]
        await ok(creator.post(f"/orders/{order_id}/accept"))
        deadline = time.monotonic() + 30
        while not (await ok(client.get(f"/orders/{order_id}")))["overdue"]:
            assert time.monotonic() < deadline, "the order never went overdue"
            await asyncio.sleep(0.2)
        return str(order_id)


async def test_ops_find_an_overdue_order_in_the_attention_list_and_move_its_deadline(
    ui: Ui, web: WebSystem
) -> None:
    # rules D2 D4 P1 P2
    order_id = await overdue_order(web)
    ops = await ui.login(DEMO_OPS)
    listed = ops.locator(f"[data-attention=overdue] [data-order='{order_id}']")
    await listed.wait_for()
    await listed.locator("a").click()
    await ops.wait_for_selector(".flag.overdue")
    later = datetime.now(UTC) + timedelta(days=3)
    await submit(
        ops, "move_deadline", due_at=local_input(later), reason="the creator was ill; agreed"
    )
    await ops.locator("ol.timeline", has_text="the creator was ill; agreed").wait_for()


async def test_a_new_creator_signs_up_and_opens_the_task_by_clicking(
    ui: Ui, web: WebSystem
) -> None:
    # rules C1 C2 C3 C4 C5 C6
    name = f"cook-{uuid.uuid4().hex[:8]}"
    account = {"login_platform": "douyin", "login_account": f"dy-{name}"}
    weak = {"fans_toutiao": 2_000, "fans_xigua": 1_000, "original": False,
            "recent_plays": [300] * 20, "category": "food"}  # fmt: skip
    async with signed_in(web.url, DEMO_OPS) as ops:  # the video platform's account, as it is
        await ok(ops.put(f"/simulator/accounts/xg-{name}", json={**account, **weak}))

    creator = await ui.page()
    await creator.goto("/app/#/signup")
    await creator.select_option("[name=role]", "creator")
    await creator.fill("[name=username]", name)
    await creator.fill("[name=display_name]", "Cook Zhang")
    await creator.fill("[name=password]", "a long enough password")
    await creator.click("form button[type=submit]")
    await creator.click("[data-nav=profile]")
    await creator.select_option("[name=login_platform]", "douyin")
    await creator.fill("[name=login_account]", f"dy-{name}")
    await creator.fill("[name=xigua_account_id]", f"xg-{name}")
    await creator.click("form[data-form=bind] button[type=submit]")
    await creator.locator("[data-apply]").click()
    # Every unmet condition, with the value measured on the platform.
    unmet = creator.locator("table.checks tr.unmet")
    await unmet.first.wait_for()
    assert await unmet.count() == 3
    rows = await unmet.all_inner_texts()
    assert any("3,000" in row for row in rows)  # fans, of 10,000
    assert any("300" in row for row in rows)  # average plays, of 1,000

    async with signed_in(web.url, DEMO_OPS) as ops:  # the account grows
        strong = {**weak, "fans_toutiao": 40_000, "original": True, "recent_plays": [5_000] * 20}
        await ok(ops.put(f"/simulator/accounts/xg-{name}", json={**account, **strong}))
    await creator.locator("[data-apply]").click()
    await creator.locator("[data-approved]").wait_for()

    await creator.fill("form[data-form=quote] [name=quote]", "6,600")
    await creator.click("form[data-form=quote] button[type=submit]")
    await creator.locator("main").get_by_text("¥6,600.00").wait_for()
    await creator.fill("[name=phone]", "13912345678")
    await creator.fill("[name=email]", f"{name}@example.com")
    await creator.click("form[data-form=contact] button[type=submit]")
    await creator.locator("[data-orderable=false]").wait_for()  # not accepting orders yet
    await creator.check("[name=accepting]")
    await creator.locator("[data-orderable=true]").wait_for()

    # Now in the square, at its quote.
    async with signed_in(web.url, DEMO_CLIENT) as client:
        square = await ok(client.get("/creators", params={"max_price_fen": 660_000}))
    assert {"display_name": "Cook Zhang", "quote_fen": 660_000}.items() <= next(
        c for c in square["items"] if c["display_name"] == "Cook Zhang"
    ).items()
