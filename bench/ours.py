"""Our side of `make bench`: whole orders driven as their users drive them, through the HTTP
API (`HttpDriver`) or through `OrderService` in-process (`ServiceDriver`, `--decompose`), on
parties seeded for the purpose; and when the orders' workflows are done with them."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from sqlalchemy import Engine, func, select

from adapters.payments import MAX_SIMULATED_CHARGE_FEN, SimulatedPaymentRails
from adapters.video_platform import SimulatedVideoPlatform
from bench.baseline import Shape
from bench.stack import CpuMeter, run_pool
from db.schema import order_timeline, orders
from scripts.seed import DEMO_PASSWORD, DEMO_REVIEWER, onboard, seed_demo
from services.auth import set_password
from services.orders import OrderService, PlaceOrder
from services.users import create_user
from services.wallets import top_up
from workflows.messages import Action as OrderAction
from workflows.messages import (
    ActionInput,
    Actor,
    Brief,
    ReviewInput,
    Role,
    ScriptInput,
    VideoInput,
)

QUOTE_FEN = 100_000  # 1,000 yuan
FEE_BPS = 500
PRODUCT = "Pearl River soy sauce"
REQUIREMENTS = "Cook one dish with it on camera"
SCRIPT = "Open on the wok: one spoon, one family dinner."


@dataclass(frozen=True)
class Action:
    route: str  # the path after /orders/{id}/
    party: str  # client, creator or reviewer
    body: Callable[[str], dict[str, Any] | None]
    status: str  # the order's status after it


ACTIONS = (
    Action("accept", "creator", lambda _: None, "script_pending"),
    Action("script", "creator", lambda _: {"text": SCRIPT}, "script_in_review"),
    Action("script/review", "reviewer", lambda _: {"approve": True}, "script_awaiting_client"),
    Action("script/confirm", "client", lambda _: None, "video_pending"),
    Action("video", "creator", lambda o: {"video_id": f"bench-{o}"}, "video_in_review"),
    Action("video/review", "reviewer", lambda _: {"approve": True}, "video_awaiting_client"),
    Action("video/confirm", "client", lambda _: None, "awaiting_publish"),
    Action("publish", "client", lambda _: None, "published"),
    Action("accept-delivery", "client", lambda _: None, "in_retention"),
)
PLACE = "POST /orders"
ROUTES = (PLACE, *(a.route for a in ACTIONS))


class BenchError(Exception):
    pass


@dataclass
class Party:
    client: str
    creator: str


@dataclass
class Phase:
    """One timed run: N orders at concurrency C."""

    name: str
    orders: int
    concurrency: int
    wall_s: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    order_ids: list[str] = field(default_factory=list)
    cpu: CpuMeter | None = None
    peak_rss: dict[str, float] = field(default_factory=dict)
    completion_s: float = float("nan")
    tail_s: list[float] = field(default_factory=list)
    # Counted from the workflows' histories once they have closed.
    shapes: list[Shape] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.orders / self.wall_s if self.wall_s else 0.0

    def pooled_actions(self) -> list[float]:
        """Every action's latency except the placing (which starts a workflow too)."""
        return [x for route, xs in self.latencies.items() if route != PLACE for x in xs]


# --------------------------------------------------------------------- our system


def seed(engine: Engine, parties: int, orders_each: int) -> list[Party]:
    """Demo data, plus `parties` clients with money for `orders_each` orders and as many
    creators, every one able to log in with the demo password."""
    seed_demo(engine)
    platform = SimulatedVideoPlatform(engine)
    rails = SimulatedPaymentRails(engine)
    need = orders_each * (QUOTE_FEN + (QUOTE_FEN * FEE_BPS + 5_000) // 10_000) * 2 + 1_000_000
    out = []
    for i in range(parties):
        client, creator = f"bench-client-{i}", f"bench-creator-{i}"
        create_user(engine, client, Role.CLIENT, f"Bench client {i}")
        create_user(engine, creator, Role.CREATOR, f"Bench creator {i}")
        for user in (client, creator):
            set_password(engine, user, user, DEMO_PASSWORD)
        onboard(engine, platform, creator, QUOTE_FEN)
        for n in range(math.ceil(need / MAX_SIMULATED_CHARGE_FEN)):
            amount = min(MAX_SIMULATED_CHARGE_FEN, need - n * MAX_SIMULATED_CHARGE_FEN)
            top_up(engine, rails, client, amount, f"bench-{client}-{n}")
        out.append(Party(client, creator))
    return out


async def log_in(http: aiohttp.ClientSession, users: list[str]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    gate = asyncio.Semaphore(4)  # argon2 takes 64 MiB a verification: a few at a time

    async def one(user: str) -> None:
        form = {"username": user, "password": DEMO_PASSWORD}
        async with gate, http.post("/auth/token", data=form) as r:
            if r.status != 200:
                raise BenchError(f"login {user}: {r.status} {await r.text()}")
            tokens[user] = (await r.json())["access_token"]

    async with asyncio.TaskGroup() as group:
        for user in users:
            group.create_task(one(user))
    return tokens


class Driver:
    """Drives whole orders, `concurrency` at a time, and records each step's latency."""

    async def order(self, i: int, latencies: dict[str, list[float]]) -> str:
        raise NotImplementedError

    async def phase(self, phase: Phase) -> Phase:
        phase.latencies = {route: [] for route in ROUTES}
        ids: list[str] = [""] * phase.orders

        async def one(i: int) -> None:
            ids[i] = await self.order(i, phase.latencies)

        phase.wall_s = await run_pool(phase.orders, phase.concurrency, one)
        phase.order_ids = ids
        return phase


class HttpDriver(Driver):
    """Whole orders through the HTTP API, as the README's tour walks one."""

    def __init__(
        self, http: aiohttp.ClientSession, tokens: dict[str, str], parties: list[Party], keys: str
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.parties = parties
        self.keys = keys

    def _headers(self, user: str, keyed: bool) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        if keyed:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return headers

    async def order(self, i: int, latencies: dict[str, list[float]]) -> str:
        party = self.parties[i % len(self.parties)]
        users = {"client": party.client, "creator": party.creator, "reviewer": DEMO_REVIEWER}
        body = {
            "creator_id": party.creator,
            "product": PRODUCT,
            "requirements": REQUIREMENTS,
            "skip_script": False,
        }
        started = time.perf_counter()
        # Placing always carries a key: the API requires one.
        status, answer = await self._post("/orders", body, self._headers(party.client, True))
        latencies[PLACE].append(time.perf_counter() - started)
        if status != 201:
            raise BenchError(f"POST /orders: {status} {answer}")
        order_id = str(answer["id"])
        for action in ACTIONS:
            started = time.perf_counter()
            status, answer = await self._post(
                f"/orders/{order_id}/{action.route}",
                action.body(order_id),
                self._headers(users[action.party], self.keys == "all"),
            )
            latencies[action.route].append(time.perf_counter() - started)
            if status != 200 or answer.get("status") != action.status:
                raise BenchError(f"{action.route} of {order_id}: {status} {answer}")
        return order_id

    async def _post(
        self, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        async with self.http.post(path, json=body, headers=headers) as r:
            text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:  # not the API's JSON (a crash page, say): report it as it came
            return r.status, {"body": text}


SERVICE_INPUTS: dict[str, tuple[OrderAction, Callable[[Actor, str], ActionInput]]] = {
    "accept": (OrderAction.ACCEPT, lambda a, r: ActionInput(actor=a, request_id=r)),
    "script": (
        OrderAction.SUBMIT_SCRIPT,
        lambda a, r: ScriptInput(actor=a, request_id=r, text=SCRIPT),
    ),
    "script/review": (
        OrderAction.REVIEW_SCRIPT,
        lambda a, r: ReviewInput(actor=a, request_id=r, approve=True),
    ),
    "script/confirm": (OrderAction.CONFIRM_SCRIPT, lambda a, r: ActionInput(actor=a, request_id=r)),
    "video": (
        OrderAction.SUBMIT_VIDEO,
        lambda a, r: VideoInput(actor=a, request_id=r, video_id=f"bench-svc-{r}"),
    ),
    "video/review": (
        OrderAction.REVIEW_VIDEO,
        lambda a, r: ReviewInput(actor=a, request_id=r, approve=True),
    ),
    "video/confirm": (OrderAction.CONFIRM_VIDEO, lambda a, r: ActionInput(actor=a, request_id=r)),
    "publish": (OrderAction.PUBLISH, lambda a, r: ActionInput(actor=a, request_id=r)),
    "accept-delivery": (
        OrderAction.ACCEPT_DELIVERY,
        lambda a, r: ActionInput(actor=a, request_id=r),
    ),
}
ROLES = {"client": Role.CLIENT, "creator": Role.CREATOR, "reviewer": Role.REVIEWER}


class ServiceDriver(Driver):
    """The same orders through `OrderService` in this process: the order workflow, worker
    and database without HTTP and the API (a diagnostic: `--decompose`)."""

    def __init__(self, service: OrderService, parties: list[Party]) -> None:
        self.service = service
        self.parties = parties

    async def order(self, i: int, latencies: dict[str, list[float]]) -> str:
        party = self.parties[i % len(self.parties)]
        users = {"client": party.client, "creator": party.creator, "reviewer": DEMO_REVIEWER}
        started = time.perf_counter()
        view = await self.service.place(
            PlaceOrder(
                client_id=party.client,
                creator_id=party.creator,
                brief=Brief(product=PRODUCT, requirements=REQUIREMENTS),
                order_id=uuid.uuid4().hex,
            )
        )
        latencies[PLACE].append(time.perf_counter() - started)
        order_id = view.terms.order_id
        for action in ACTIONS:
            kind, make = SERVICE_INPUTS[action.route]
            actor = Actor(id=users[action.party], role=ROLES[action.party])
            started = time.perf_counter()
            view = await self.service.act(order_id, kind, make(actor, uuid.uuid4().hex))
            latencies[action.route].append(time.perf_counter() - started)
            if view.status.value != action.status:
                raise BenchError(f"{action.route} of {order_id}: {view.status}")
        return order_id


async def wait_completed(engine: Engine, order_ids: list[str], timeout_s: float) -> float:
    """Seconds until every order's projection says `completed`."""
    started = time.perf_counter()
    while True:
        with engine.connect() as conn:
            done = conn.execute(
                select(func.count())
                .select_from(orders)
                .where(orders.c.id.in_(order_ids), orders.c.status == "completed")
            ).scalar_one()
        if done == len(order_ids):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout_s:
            raise BenchError(f"only {done} of {len(order_ids)} orders completed in {timeout_s} s")
        await asyncio.sleep(0.2)


def tail_seconds(engine: Engine, order_ids: list[str]) -> list[float]:
    """Per order: from the accept_delivery transition to the retention_ended one."""
    t = order_timeline.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.order_id, t.action, t.at).where(
                t.order_id.in_(order_ids), t.action.in_(["accept_delivery", "retention_ended"])
            )
        ).all()
    at: dict[tuple[str, str], Any] = {(r.order_id, r.action): r.at for r in rows}
    return [
        (at[(o, "retention_ended")] - at[(o, "accept_delivery")]).total_seconds()
        for o in order_ids
        if (o, "retention_ended") in at and (o, "accept_delivery") in at
    ]
