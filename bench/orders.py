"""`make bench`: whole orders through the HTTP API, against a bare-SDK baseline on the same
Temporal server. `python -m bench.orders --help` for the options.

What runs: a Temporal dev server (SQLite file, WAL), the worker (`python worker.py`) and the API
(`python -m api`) as separate processes, as `make run` starts them, in a temporary directory.
The app database is migrated and seeded (the demo data, plus one funded client and one creator
per concurrent driver), and every party logs in through POST /auth/token.

One order is: POST /orders, then accept, script, script/review, script/confirm, video,
video/review, video/confirm, publish and accept-delivery, each a POST, each awaited before the
next. An order *counts* when accept-delivery has returned: throughput is completed sequences of
user actions per second. The order's workflow goes on (retention: 30 "days" of
--retention-day, then `completed`); how long that takes is reported separately.

The baseline is `BareOrder` (bench/bare.py): a workflow with the same number of updates,
activities, local activities and tail timers as a measured order history, driven by the
Temporal client with the same number of orders at the same concurrency; no HTTP, no database.
The two sides run in alternating rounds (--rounds; ours first in odd rounds, the baseline
first in even ones), each round waiting until its workflows have ended, so that a machine
whose speed drifts during the run weighs on both alike.

The last line is `throughput ratio vs bare SDK: R` (ours / baseline)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import Engine, func, select
from temporalio.client import Client

from adapters.payments import MAX_SIMULATED_CHARGE_FEN, SimulatedPaymentRails
from adapters.video_platform import SimulatedVideoPlatform
from bench import baseline, profile
from bench.bare import describe as describe_plan
from bench.baseline import Shape
from bench.stack import (
    CpuMeter,
    Sampler,
    Stack,
    free_port,
    hwm_mb,
    machine,
    measuring_cpu,
    ms_summary,
    percentile,
    run_pool,
    run_with_stack,
    wait_for_http,
    wait_for_temporal,
)
from bootstrap import connect_temporal
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from db.schema import order_timeline, orders
from scripts.seed import DEMO_PASSWORD, DEMO_REVIEWER, onboard, seed_demo
from services.auth import set_password
from services.orders import OrderPolicy, OrderService, PlaceOrder
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

TASK_QUEUE = "xigua-bench"
BARE_TASK_QUEUE = "bare-bench"
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


async def history_shapes(client: Client, workflow_ids: list[str]) -> list[Shape]:
    gate = asyncio.Semaphore(10)

    async def one(workflow_id: str) -> Shape:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        return baseline.shape_of(history.events)

    return list(await asyncio.gather(*(one(w) for w in workflow_ids)))


# --------------------------------------------------------------------- report


def describe_shapes(label: str, shapes: list[Shape]) -> str:
    events = [s.events for s in shapes]
    kib = sum(s.bytes for s in shapes) / len(shapes) / 1024
    mean = sum(events) / len(events)
    return (
        f"{label}: {shapes[0].describe()}; events per order: mean {mean:.1f}, "
        f"min {min(events)}, max {max(events)}, {kib:.1f} KiB ({len(shapes)} orders)"
    )


def cpu_lines(phase: Phase) -> list[str]:
    if phase.cpu is None:
        return []
    meter, out = phase.cpu, []
    for name, used in meter.used.items():
        share = 100 * used / meter.wall_s if meter.wall_s else 0.0
        per_order = 1000 * used / phase.orders
        out.append(
            f"  {name:<12} {used:7.1f} s CPU  {share:5.0f} % of one core  "
            f"{per_order:6.1f} ms per order   peak RSS {phase.peak_rss.get(name, 0):7.1f} MB"
        )
    total = sum(meter.used.values())
    out.append(
        f"  {'all':<12} {total:7.1f} s CPU  {100 * total / meter.wall_s:5.0f} % of one core  "
        f"{1000 * total / phase.orders:6.1f} ms per order   ({os.cpu_count()} cores)"
    )
    return out


def latency_table(
    ours: Phase, bare: Phase, ours_solo: Phase | None, bare_solo: Phase | None, names: list[str]
) -> list[str]:
    head = (
        f"  {'action':<16} {'update':<16} {'ours p50 / p95 / p99':>24} {'bare p50 / p95 / p99':>24}"
    )
    lines = [head]

    def rows(a: Phase, b: Phase) -> list[str]:
        out = []
        for i, route in enumerate(ROUTES):
            update = names[i] if i < len(names) else "?"
            bare_key = str(i)
            out.append(
                f"  {route:<16} {update:<16} {ms_summary(a.latencies[route]):>24} "
                f"{ms_summary(b.latencies[bare_key]):>24}"
            )
        ours_pool, bare_pool = a.pooled_actions(), b.pooled_actions()
        out.append(
            f"  {'all 9 actions':<16} {'updates 1-9':<16} {ms_summary(ours_pool):>24} "
            f"{ms_summary(bare_pool):>24}"
        )
        return out

    lines.append(f" at concurrency {ours.concurrency} ({ours.orders} orders each):")
    lines += rows(ours, bare)
    if ours_solo and bare_solo:
        lines.append(f" at concurrency 1 ({ours_solo.orders} orders each):")
        lines += rows(ours_solo, bare_solo)
    return lines


# --------------------------------------------------------------------- the run


@dataclass
class Options:
    orders: int
    concurrency: int
    solo: int
    retention_day: float
    video_check_every: str
    keys: str
    profile: Path | None
    keep: bool
    decompose: bool
    rounds: int = 2
    bare_search_attributes: bool = True


@dataclass
class Contestant:
    """One side of the comparison: how to drive a phase of orders, how to wait until their
    workflows have ended, and the processes whose CPU and memory count for it."""

    name: str
    pids: dict[str, int]
    drive: Callable[[Phase], Awaitable[Phase]]
    finish: Callable[[list[str]], Awaitable[None]]

    async def timed(self, phase: Phase) -> Phase:
        with Sampler(self.pids) as sampler:
            with measuring_cpu(self.pids) as phase.cpu:
                await self.drive(phase)
            sampler.sample()
            phase.peak_rss = dict(sampler.peak)
            # Before the next phase starts: its tail (retention timers, the payout's last
            # steps) must not run in the other side's measured time.
            started = time.perf_counter()
            await self.finish(phase.order_ids)
            phase.completion_s = time.perf_counter() - started
        return phase


def merged(name: str, chunks: list[Phase]) -> Phase:
    """The rounds of one side as one phase: orders and wall time summed, samples pooled."""
    first = chunks[0]
    total = Phase(name, sum(c.orders for c in chunks), first.concurrency)
    total.wall_s = sum(c.wall_s for c in chunks)
    total.latencies = {k: [x for c in chunks for x in c.latencies[k]] for k in first.latencies}
    total.order_ids = [o for c in chunks for o in c.order_ids]
    meters = [c.cpu for c in chunks if c.cpu is not None]
    if meters:
        total.cpu = CpuMeter(meters[0].pids)
        total.cpu.used = {n: sum(m.used[n] for m in meters) for n in meters[0].used}
        total.cpu.wall_s = sum(m.wall_s for m in meters)
    total.peak_rss = {n: max(c.peak_rss.get(n, 0.0) for c in chunks) for n in first.peak_rss}
    total.completion_s = max(c.completion_s for c in chunks)
    return total


def round_order(rounds: int) -> list[bool]:
    """True where ours goes first: ours-bare, bare-ours, ours-bare ... (ABBA), so a machine
    that slows down or speeds up during the run, and the server's growing SQLite files,
    weigh on both sides alike."""
    return [r % 2 == 0 for r in range(rounds)]


async def run(opts: Options, stack: Stack) -> int:
    print("machine:", *machine(), sep="\n  ", flush=True)
    print(
        f"run: {opts.orders} orders at concurrency {opts.concurrency} in {opts.rounds} rounds "
        f"alternating with the baseline (and {opts.solo} at concurrency 1); retention day "
        f"{opts.retention_day} s, video check every {opts.video_check_every}; "
        f"Idempotency-Key on: {opts.keys}",
        flush=True,
    )
    with stack:
        server = stack.start_server()
        client = await wait_for_temporal(stack.temporal_address)
        upgrade(stack.database_url)
        engine = make_engine(stack.database_url)
        total_orders = opts.orders + opts.solo + 1
        parties = seed(engine, opts.concurrency, math.ceil(total_orders / opts.concurrency))

        # Our system: the worker and the API, as `make run` starts them.
        # Plain numbers must be whole seconds (config.py); fractions go as ISO 8601.
        env = stack.xigua_env(
            TASK_QUEUE,
            retention_day=f"PT{opts.retention_day}S",
            video_check_every=opts.video_check_every,
            service_fee_bps=str(FEE_BPS),
        )
        worker = stack.start_worker(env)
        port = free_port()
        api = stack.start_api(env, port)
        # The baseline's worker, on the same server; idle while ours runs, and ours while it runs.
        bare_worker = stack.start(
            "bare-worker",
            [
                sys.executable, "-m", "bench.bare",
                "--address", stack.temporal_address, "--task-queue", BARE_TASK_QUEUE,
            ],
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        await wait_for_http(url + "/health")
        stack.check_alive()
        # aiohttp rather than httpx: the client shares the two cores with what it measures,
        # and costs about a quarter of httpx's CPU per request.
        connector = aiohttp.TCPConnector(limit=opts.concurrency + 8)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:
            users = [u for p in parties for u in (p.client, p.creator)] + [DEMO_REVIEWER]
            tokens = await log_in(http, users)
            driver = HttpDriver(http, tokens, parties, opts.keys)

            # One order alone: warms up, and its history gives the shape the baseline copies.
            probe = await driver.phase(Phase("probe", 1, 1))
            await wait_completed(engine, probe.order_ids, 120)
            (our_shape,) = await history_shapes(client, [f"order-{probe.order_ids[0]}"])
            print(describe_shapes("order workflow", [our_shape]), flush=True)
            print(f"  updates: {', '.join(our_shape.updates)}", flush=True)
            print(f"  biggest events: {our_shape.biggest()}", flush=True)
            retention_s = 30 * opts.retention_day
            plan = our_shape.plan(
                retention_s / max(our_shape.tail_timers, 1), upserts=opts.bare_search_attributes
            )
            print(f"  baseline plan: {describe_plan(plan)}", flush=True)
            bare_probe = await bare_phase(client, plan, Phase("bare-probe", 1, 1))
            await wait_results(client, bare_probe.order_ids)
            (bare_shape,) = await history_shapes(client, bare_probe.order_ids)
            print(describe_shapes("bare workflow", [bare_shape]), flush=True)
            print(f"  biggest events: {bare_shape.biggest()}", flush=True)

            async def ours_done(ids: list[str]) -> None:
                await wait_completed(engine, ids, 600)
                # And closed, as the baseline's are: its last workflow task is done too.
                await wait_results(client, [f"order-{o}" for o in ids])

            ours_pids = {"temporal": server.pid, "worker": worker.pid, "api": api.pid}
            ours_side = Contestant(
                "ours", {**ours_pids, "bench": os.getpid()}, driver.phase, ours_done
            )
            bare_side = Contestant(
                "bare",
                {"temporal": server.pid, "bare-worker": bare_worker.pid, "bench": os.getpid()},
                lambda phase: bare_phase(client, plan, phase),
                lambda ids: wait_results(client, ids),
            )

            ours_solo = bare_solo = None
            if opts.solo:
                ours_solo = await ours_side.timed(Phase("ours-solo", opts.solo, 1))
                bare_solo = await bare_side.timed(Phase("bare-solo", opts.solo, 1))

            recorder = profile.Recorder(opts.profile) if opts.profile else None
            if recorder:
                # Across all rounds: py-spy records busy samples only, and ours is idle
                # while the baseline runs.
                recorder.start({"api": api.pid, "worker": worker.pid})
            ours_rounds: list[Phase] = []
            bare_rounds: list[Phase] = []
            try:
                for r, ours_first in enumerate(round_order(opts.rounds)):
                    size = opts.orders // opts.rounds + (r < opts.orders % opts.rounds)
                    sides = [(ours_side, ours_rounds), (bare_side, bare_rounds)]
                    for side, done in sides if ours_first else sides[::-1]:
                        done.append(await side.timed(Phase(side.name, size, opts.concurrency)))
                    last_ours, last_bare = ours_rounds[-1].throughput, bare_rounds[-1].throughput
                    print(
                        f"round {r + 1} ({'ours' if ours_first else 'bare'} first): ours "
                        f"{last_ours:.2f}, bare {last_bare:.2f} orders/s, "
                        f"ratio {last_ours / last_bare:.2f}",
                        flush=True,
                    )
            finally:
                recordings = recorder.stop() if recorder else []
            ours = merged("ours", ours_rounds)
            bare = merged("bare", bare_rounds)
            ours.tail_s = tail_seconds(engine, ours.order_ids)
            shapes = await history_shapes(client, [f"order-{o}" for o in ours.order_ids])
            bare_shapes = await history_shapes(client, bare.order_ids)
            lifetime_peak = {"worker": hwm_mb(worker.pid), "api": hwm_mb(api.pid)}

        service_phase = None
        if opts.decompose:
            # The same orders without HTTP: OrderService in this process, same worker.
            settings = Settings.model_validate(
                {
                    "temporal_address": stack.temporal_address,
                    "retention_day": f"PT{opts.retention_day}S",
                    "video_check_every": opts.video_check_every,
                }
            )
            service = OrderService(
                await connect_temporal(settings),
                engine,
                TASK_QUEUE,
                OrderPolicy(FEE_BPS, settings.timings()),
            )
            service_driver = ServiceDriver(service, parties)
            await service_driver.phase(Phase("service-warm-up", 2, 1))
            service_side = Contestant("service", ours_side.pids, service_driver.phase, ours_done)
            service_phase = await service_side.timed(
                Phase("service", opts.orders, opts.concurrency)
            )
        stack.check_alive()
        engine.dispose()

        report(
            opts, our_shape, ours, bare, ours_solo, bare_solo, shapes, bare_shapes, lifetime_peak
        )
        if service_phase is not None:
            decompose(ours, service_phase, bare)
        for recording in recordings:
            summary = profile.summarize(recording.name, recording.output, ours.wall_s)
            print("\n".join(summary.lines()))
        ratio = ours.throughput / bare.throughput
        print(f"throughput ratio vs bare SDK: {ratio:.2f}", flush=True)
    return 0


async def bare_phase(client: Client, plan: Any, phase: Phase) -> Phase:
    prefix = f"{phase.name}-{uuid.uuid4().hex[:8]}"
    result = await baseline.drive(
        client, BARE_TASK_QUEUE, plan, phase.orders, phase.concurrency, prefix
    )
    phase.wall_s = result.wall_s
    phase.order_ids = result.workflow_ids
    phase.latencies = {str(i): xs for i, xs in enumerate(result.latencies)}
    return phase


async def wait_results(client: Client, workflow_ids: list[str]) -> None:
    gate = asyncio.Semaphore(50)

    async def one(workflow_id: str) -> None:
        async with gate:
            await client.get_workflow_handle(workflow_id).result()

    await asyncio.gather(*(one(w) for w in workflow_ids))


def report(
    opts: Options,
    shape: Shape,
    ours: Phase,
    bare: Phase,
    ours_solo: Phase | None,
    bare_solo: Phase | None,
    shapes: list[Shape],
    bare_shapes: list[Shape],
    lifetime_peak: dict[str, float],
) -> None:
    names = ["start+" + shape.updates[0], *shape.updates[1:]]
    print()
    print("latency in ms (ours: HTTP request as the client sees it; bare: SDK update call):")
    print("\n".join(latency_table(ours, bare, ours_solo, bare_solo, names)))
    print()
    print("history per order:")
    print(" ", describe_shapes("ours", shapes))
    print(" ", describe_shapes("bare", bare_shapes))
    print()
    print(f"throughput at concurrency {opts.concurrency}, {opts.orders} orders:")
    print(
        f"  ours {ours.throughput:6.2f} orders/s ({ours.wall_s:.1f} s)   "
        f"= {ours.throughput * 10:.0f} requests/s"
    )
    print(
        f"  bare {bare.throughput:6.2f} orders/s ({bare.wall_s:.1f} s)   "
        f"= {bare.throughput * len(shape.updates):.0f} updates/s"
    )
    if ours_solo and bare_solo:
        print(
            f"  at concurrency 1: ours {ours_solo.throughput:.2f}, "
            f"bare {bare_solo.throughput:.2f} orders/s"
        )
    print()
    print("until the workflows complete (after the last order counted):")
    tail = ours.tail_s
    print(
        f"  ours: all {len(ours.order_ids)} completed {ours.completion_s:.1f} s after the last "
        f"accept-delivery; accept_delivery -> completed per order: p50 "
        f"{percentile(tail, 50):.2f} s, max {max(tail, default=float('nan')):.2f} s "
        f"(retention is {30 * opts.retention_day:.2f} s)"
    )
    print(
        f"  bare: all {len(bare.order_ids)} completed {bare.completion_s:.1f} s "
        "after the last update"
    )
    print()
    print("CPU and memory while the orders ran:")
    print(" ours:")
    print("\n".join(cpu_lines(ours)))
    print(" bare:")
    print("\n".join(cpu_lines(bare)))
    print(
        "  our processes' lifetime peak RSS (VmHWM, logins included): "
        + ", ".join(f"{k} {v:.1f} MB" for k, v in lifetime_peak.items())
    )
    print()
    ratio = ours.throughput / bare.throughput
    print("targets:")
    print(f"  throughput ratio >= 0.8: {ratio:.2f} ({'met' if ratio >= 0.8 else 'NOT met'})")
    for label, a, b in (("concurrency 1", ours_solo, bare_solo), ("loaded", ours, bare)):
        if a is None or b is None:
            continue
        ours_p50 = percentile(a.pooled_actions(), 50) * 1000
        bare_p50 = percentile(b.pooled_actions(), 50) * 1000
        diff = ours_p50 - bare_p50
        verdict = "met" if diff <= 15 else "NOT met"
        print(
            f"  action p50 within 15 ms of update p50, {label} (concurrency {a.concurrency}): "
            f"{ours_p50:.1f} - {bare_p50:.1f} = {diff:+.1f} ms ({verdict})"
        )
    # At a fixed number in flight, latency = in flight / throughput (Little's law): once the
    # cores are saturated, the loaded p50 gap is the throughput ratio restated, not a cost of
    # each action; the unloaded one is.


def decompose(ours: Phase, service: Phase, bare: Phase) -> None:
    """Where the gap goes: bare SDK -> our workflow and worker -> plus HTTP and the API."""
    print()
    print("decomposition (--decompose): the same orders through OrderService, no HTTP:")
    print(
        f"  throughput: bare {bare.throughput:.2f} -> workflow+worker+DB {service.throughput:.2f}"
        f" -> + HTTP API {ours.throughput:.2f} orders/s"
    )
    p50 = [percentile(p.pooled_actions(), 50) * 1000 for p in (bare, service, ours)]
    print(f"  action p50: bare {p50[0]:.1f} -> service {p50[1]:.1f} -> HTTP {p50[2]:.1f} ms")
    print(" service-level run:")
    print("\n".join(cpu_lines(service)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Orders through the HTTP API vs a bare-SDK baseline (docs/PERFORMANCE.md)."
    )
    parser.add_argument(
        "--orders", type=int, default=200, help="orders of each side, over all rounds"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="timed rounds (1 or even), each of ours then the baseline's orders or the other "
        "way round",
    )
    parser.add_argument("--concurrency", type=int, default=20, help="orders in flight at once")
    parser.add_argument(
        "--solo", type=int, default=10, help="orders at concurrency 1 first (0: none)"
    )
    parser.add_argument(
        "--retention-day", type=float, default=0.05, help="seconds; retention is 30 of these"
    )
    parser.add_argument(
        "--video-check-every",
        default="P1D",
        help="XIGUA_VIDEO_CHECK_EVERY of the run (default one day: only the final check)",
    )
    parser.add_argument(
        "--keys",
        choices=("place", "all"),
        default="place",
        help="which requests carry an Idempotency-Key: POST /orders always (the API requires "
        "it), or every action too",
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy the API and worker during the timed run, into DIR"
    )
    parser.add_argument(
        "--decompose",
        action="store_true",
        help="also run the orders through OrderService without HTTP (where the gap goes)",
    )
    parser.add_argument(
        "--bare-without-search-attributes",
        action="store_true",
        help="the baseline neither starts with nor upserts search attributes",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not (args.rounds == 1 or args.rounds % 2 == 0) or not 1 <= args.rounds <= args.orders:
        # Odd counts above 1 would put ours first once more than the baseline.
        parser.error("--rounds must be 1 or an even number, and at most --orders")
    opts = Options(
        orders=args.orders,
        concurrency=args.concurrency,
        solo=args.solo,
        retention_day=args.retention_day,
        video_check_every=args.video_check_every,
        keys=args.keys,
        profile=args.profile,
        keep=args.keep,
        decompose=args.decompose,
        rounds=args.rounds,
        bare_search_attributes=not args.bare_without_search_attributes,
    )
    try:
        code = run_with_stack(opts.keep, lambda stack: run(opts, stack))
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        code = 130
    except BenchError as e:
        print(f"bench failed: {e}", file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # A process that ran a Temporal runtime can abort in interpreter teardown (exit 134).
    os._exit(code)


if __name__ == "__main__":
    main()
