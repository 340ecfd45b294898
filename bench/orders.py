"""`make bench`: whole orders through the HTTP API, against two bare-SDK baselines on the same
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

Two baselines, both driven by the Temporal client with the same number of orders at the same
concurrency, on the same server and the same worker process (bench/bare.py); no HTTP, no
database:
- the same-shape baseline, `bare`: `BareOrder` with the same number of updates, activities,
  local activities, search-attribute upserts and tail timers as a measured order history;
- the minimal baseline, `minimal`: `BareOrder` with one update per request of an order (the
  placing and each action) and one activity, no search attributes, no timers: what the
  order's conversation costs on this server with nothing of an order in it.
The sides run in alternating rounds (--rounds; ours, bare, minimal in odd rounds, the other
way round in even ones), each round waiting until its workflows have ended, so that a machine
whose speed drifts during the run weighs on all alike.

The last lines are the history events per order of each side, `ratio vs minimal workflow: R`
and `throughput ratio vs bare SDK: R` (ours / baseline, orders per second)."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import uuid
from pathlib import Path

import aiohttp
from temporalio.client import Client

from bench import baseline, profile
from bench.bare import Plan
from bench.bare import describe as describe_plan
from bench.baseline import history_shapes
from bench.ours import (
    FEE_BPS,
    ROUTES,
    BenchError,
    HttpDriver,
    Phase,
    ServiceDriver,
    log_in,
    seed,
    tail_seconds,
    wait_completed,
)
from bench.report import decompose, describe_shapes, events_per_order, report
from bench.rounds import Contestant, Options, alternate
from bench.stack import (
    Stack,
    free_port,
    hwm_mb,
    machine,
    run_with_stack,
    wait_for_http,
    wait_for_temporal,
)
from bootstrap import connect_temporal
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from scripts.seed import DEMO_REVIEWER
from services.orders import OrderPolicy, OrderService

TASK_QUEUE = "xigua-bench"
BARE_TASK_QUEUE = "bare-bench"


async def run(opts: Options, stack: Stack) -> int:
    print("machine:", *machine(), sep="\n  ", flush=True)
    print(
        f"run: {opts.orders} orders at concurrency {opts.concurrency} in {opts.rounds} rounds "
        f"alternating with the baselines (and {opts.solo} at concurrency 1); retention day "
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

            # One update per request of an order (the placing and each action), the
            # placing's with the one activity: on the same worker as the baseline's.
            minimal_plan = baseline.minimal_plan(len(ROUTES))
            print(f"minimal workflow plan: {describe_plan(minimal_plan)}", flush=True)

            ours_pids = {"temporal": server.pid, "worker": worker.pid, "api": api.pid}
            ours_side = Contestant(
                "ours", {**ours_pids, "bench": os.getpid()}, driver.phase, ours_done
            )
            bare_pids = {"temporal": server.pid, "bare-worker": bare_worker.pid}

            def on_bare_worker(name: str, bare_plan: Plan) -> Contestant:
                return Contestant(
                    name,
                    {**bare_pids, "bench": os.getpid()},
                    lambda phase: bare_phase(client, bare_plan, phase),
                    lambda ids: wait_results(client, ids),
                )

            bare_side = on_bare_worker("bare", plan)
            minimal_side = on_bare_worker("minimal", minimal_plan)

            ours_solo = bare_solo = None
            if opts.solo:
                ours_solo = await ours_side.timed(Phase("ours-solo", opts.solo, 1))
                bare_solo = await bare_side.timed(Phase("bare-solo", opts.solo, 1))

            recorder = profile.Recorder(opts.profile) if opts.profile else None
            if recorder:
                # Across all rounds: py-spy records busy samples only, and ours is idle
                # while the baselines run.
                recorder.start({"api": api.pid, "worker": worker.pid})
            try:
                sides = await alternate([ours_side, bare_side, minimal_side], opts)
            finally:
                recordings = recorder.stop() if recorder else []
            ours, bare, minimal = sides["ours"], sides["bare"], sides["minimal"]
            ours.tail_s = tail_seconds(engine, ours.order_ids)
            ours.shapes = await history_shapes(client, [f"order-{o}" for o in ours.order_ids])
            for side in (bare, minimal):
                side.shapes = await history_shapes(client, side.order_ids)
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

        report(opts, our_shape, ours, bare, minimal, ours_solo, bare_solo, lifetime_peak)
        if service_phase is not None:
            decompose(ours, service_phase, bare)
        for recording in recordings:
            summary = profile.summarize(recording.name, recording.output, ours.wall_s)
            print("\n".join(summary.lines()))
        # The headline figures last, where a run's log ends.
        print(
            "history events per order: "
            + ", ".join(f"{p.name} {events_per_order(p):.1f}" for p in (ours, bare, minimal))
        )
        print(f"ratio vs minimal workflow: {ours.throughput / minimal.throughput:.2f}")
        print(f"throughput ratio vs bare SDK: {ours.throughput / bare.throughput:.2f}", flush=True)
    return 0


async def bare_phase(client: Client, plan: Plan, phase: Phase) -> Phase:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Orders through the HTTP API vs bare-SDK baselines (docs/PERFORMANCE.md)."
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
