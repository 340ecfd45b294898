"""The web app in headless Chromium (Debian's, driven by Playwright with `executable_path`; no
browser is ever downloaded) against the real system: a worker on the dev server `make run`
starts, and the API served by uvicorn, which serves the app too.

One browser for the session, a context per role (its own sessionStorage, so its own login), and
every page's console watched: a test fails on any console error or uncaught exception."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
)
from sqlalchemy import Engine, select
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from config import Settings
from db.engine import make_engine
from db.ledger import check_invariants
from db.migrate import upgrade
from db.schema import orders
from scripts.seed import DEMO_PASSWORD, seed_demo
from tests.stack import Stack, running_stack, serving_on_loopback

CHROMIUM = Path("/usr/bin/chromium")
# Every page is laid out at this size unless a test asks for another; the screenshots too.
VIEWPORT = ViewportSize(width=1280, height=800)
TIMEZONE = "Asia/Shanghai"
# On the `fast_url` API a creator's script is due this soon, so that an order goes overdue in
# seconds (rule D2), and a published video is sampled this often, so that its chart has points;
# every other duration keeps its default.
FAST = {"script_due_after": timedelta(seconds=2), "video_check_every": timedelta(seconds=1)}
# What the app's pages may take to show what a test waits for (a workflow update included).
TIMEOUT_MS = 20_000
# Signed in, and the home page it leads to rendered: no redirect left to overtake a navigation.
HOME_SHOWN = """() => {
    const ready = document.querySelector("main").dataset.ready || "";
    const hash = window.location.hash;
    return hash.length > 2 && !hash.startsWith("#/login") && ready.endsWith(":" + hash);
}"""


@dataclass
class WebSystem:
    url: str  # the API and the app (at /app/), with the default durations
    fast_url: str  # the same system with the FAST durations
    engine: Engine
    stack: Stack


@pytest.fixture(scope="module")
async def web(
    dev_server_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WebSystem]:
    """One system for a module's tests: the demo accounts (the README's), a worker, two APIs."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    async with running_stack(dev_server_env.client, engine) as stack:
        seed_demo(engine)

        def app(**durations: timedelta) -> FastAPI:
            settings = Settings(task_queue=stack.task_queue, database_url="sqlite://")
            settings = settings.model_copy(update=durations)
            return create_app(settings, engine=engine, temporal=dev_server_env.client)

        async with serving_on_loopback(app()) as normal, serving_on_loopback(app(**FAST)) as fast:
            try:
                yield WebSystem(url=normal, fast_url=fast, engine=engine, stack=stack)
            finally:
                with engine.connect() as conn:
                    stack.placed += list(conn.execute(select(orders.c.id)).scalars())
    problems = check_invariants(engine)
    engine.dispose()
    assert problems == [], "ledger invariants broken:\n" + "\n".join(problems)


def chromium_installed() -> bool:
    return CHROMIUM.exists()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not chromium_installed():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Chromium at {CHROMIUM} (scripts/ensure_chromium.sh installs it)")
        pytest.skip(f"no Chromium at {CHROMIUM}: run scripts/ensure_chromium.sh")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        await launched.close()


@dataclass
class Ui:
    """Browser contexts for one test, and every console error their pages logged."""

    browser: Browser
    base: str
    errors: list[str] = field(default_factory=list)
    # Console errors a test expects (the browser logs every 4xx a fetch gets); matched by text.
    expected: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    async def page(self, lang: str | None = None, viewport: ViewportSize | None = None) -> Page:
        context = await self.browser.new_context(
            viewport=viewport or VIEWPORT, timezone_id=TIMEZONE, base_url=self.base
        )
        if lang:
            await context.add_init_script(f"localStorage.setItem('xigua.lang', '{lang}')")
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = await context.new_page()
        self.watch(page)
        return page

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{page.url}: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))

    async def login(
        self, username: str, lang: str | None = None, viewport: ViewportSize | None = None
    ) -> Page:
        """A new context signed in as `username` (a demo account) through the login form, on
        its home page."""
        page = await self.page(lang, viewport)
        await page.goto("/app/")
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", DEMO_PASSWORD)
        await page.click("form button[type=submit]")
        await page.wait_for_function(HOME_SHOWN)
        return page

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]


@pytest.fixture
async def ui(browser: Browser, web: WebSystem) -> AsyncIterator[Ui]:
    ui = Ui(browser=browser, base=web.url)
    try:
        yield ui
    finally:
        for context in ui.contexts:
            await context.close()
    # No page logged a console error or threw (beyond what the test expected).
    assert ui.unexpected_errors() == [], "\n".join(ui.errors)


async def token(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        answer = await http.post(
            "/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])


@asynccontextmanager
async def signed_in(base: str, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the API signed in as a demo account: what a test sets up without
    clicking goes through the same public routes."""
    bearer = await token(base, username)
    headers = {"Authorization": f"Bearer {bearer}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        yield http


async def ok(response: Awaitable[httpx.Response]) -> Any:
    answer = await response
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None
