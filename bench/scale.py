"""`make bench-scale`: many open orders waiting on their timers, and many timers at once.

--open orders (default 10,000) are placed through `services.orders.OrderService` (what the API
calls, without HTTP) on a dev server and worker started as `make run` starts them. --firing of
them (default 1,000) get an accept window that ends at one instant, T; the rest wait on the
usual 24-hour window. The firing orders are placed early, so that by T the thousands placed
after them have pushed them out of the worker's workflow cache, as a day of traffic would.

Measured: RSS of the worker and the dev server with every order open, and while the timers
fire; for each firing order, the lag from its due time (placed_at + accept window, the
deadline its view shows) to its auto_cancel transition (`order_timeline.at`, the workflow's
time when it ran the transition); and how long until all of them were cancelled and refunded in
the app database. `python -m bench.scale --help` for the options."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from bench import profile
from bench.ours import PRODUCT, REQUIREMENTS, Party, seed
from bench.stack import (
    Sampler,
    Stack,
    machine,
    measuring_cpu,
    percentile,
    rss_mb,
    run_pool,
    run_with_stack,
    wait_for_temporal,
)
from bootstrap import connect_temporal
from config import Settings
from db.engine import make_engine
from db.migrate import upgrade
from db.schema import order_timeline, transfers
from services.orders import OrderPolicy, OrderService, PlaceOrder
from workflows.messages import Brief, Timings

TASK_QUEUE = "xigua-scale"
FEE_BPS = 500
BRIEF = Brief(product=PRODUCT, requirements=REQUIREMENTS)


def mb(path: Path) -> float:
    sizes = [p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file()]
    return sum(sizes) / 2**20


async def run(opts: argparse.Namespace, stack: Stack) -> int:
    print("machine:", *machine(), sep="\n  ", flush=True)
    print(f"run: python -m bench.scale {' '.join(sys.argv[1:])}".rstrip(), flush=True)
    waiting_n = opts.open - opts.firing
    with stack:
        server = stack.start_server()
        await wait_for_temporal(stack.temporal_address)
        settings = Settings(
            temporal_address=stack.temporal_address,
            database_url=stack.database_url,
            task_queue=TASK_QUEUE,
        )
        client = await connect_temporal(settings)
        upgrade(stack.database_url)
        engine = make_engine(stack.database_url)
        parties = seed(engine, opts.parties, math.ceil(opts.open / opts.parties))
        worker = stack.start_worker(stack.xigua_env(TASK_QUEUE))
        await asyncio.sleep(2)
        stack.check_alive()
        pids = {"temporal": server.pid, "worker": worker.pid}
        idle = {name: rss_mb(pid) for name, pid in pids.items()}
        print(
            f"idle RSS: worker {idle['worker']:.1f} MB, dev server {idle['temporal']:.1f} MB",
            flush=True,
        )

        long_policy = OrderPolicy(FEE_BPS, Timings())
        long_service = OrderService(client, engine, TASK_QUEUE, long_policy)
        due: dict[str, datetime] = {}

        def request(i: int) -> PlaceOrder:
            party: Party = parties[i % len(parties)]
            return PlaceOrder(
                client_id=party.client,
                creator_id=party.creator,
                brief=BRIEF,
                order_id=f"scale-{i:06d}",
            )

        async def place_waiting(i: int) -> None:
            await long_service.place(request(i))

        fire_at = 0.0  # epoch seconds of T

        async def place_firing(i: int) -> None:
            window = timedelta(seconds=fire_at - time.time())
            policy = OrderPolicy(FEE_BPS, Timings(accept_window=window))
            view = await OrderService(client, engine, TASK_QUEUE, policy).place(request(i))
            deadline = view.next[0].deadline
            assert deadline is not None
            due[view.terms.order_id] = deadline

        with Sampler(pids) as sampler:
            # A first batch of waiting orders gives the placing rate, to choose T.
            calibrate = min(opts.calibrate, waiting_n)
            started = time.perf_counter()
            placed_s = await run_pool(calibrate, opts.concurrency, place_waiting)
            rate = calibrate / placed_s if placed_s else 100.0
            remaining = opts.open - calibrate
            fire_at = time.time() + remaining / rate * opts.margin + 20
            print(
                f"placed {calibrate} at {rate:.1f} orders/s; the {opts.firing} firing orders "
                f"are due in {fire_at - time.time():.0f} s",
                flush=True,
            )
            rest = waiting_n - calibrate
            # Cold (default): the firing orders first, so the rest push them out of the
            # worker's cache. Warm: the firing orders last, most of them still cached.
            first_n, second_n = (rest, opts.firing) if opts.warm else (opts.firing, rest)
            first_s = await run_pool(
                first_n,
                opts.concurrency,
                lambda k: (place_waiting if opts.warm else place_firing)(calibrate + k),
            )
            second_s = await run_pool(
                second_n,
                opts.concurrency,
                lambda k: (place_firing if opts.warm else place_waiting)(calibrate + first_n + k),
            )
            firing_s, rest_s = (second_s, first_s) if opts.warm else (first_s, second_s)
            placing_s = time.perf_counter() - started
            early = min(due.values()).timestamp() - time.time()
            print(
                f"placed all {opts.open} in {placing_s:.0f} s ({opts.open / placing_s:.1f} "
                f"orders/s; firing ones {opts.firing / firing_s:.1f}/s, the rest "
                f"{rest / rest_s if rest_s else 0:.1f}/s); the first timer is due in {early:.0f} s",
                flush=True,
            )
            sampler.sample()
            placing_peak = dict(sampler.peak)
            await asyncio.sleep(max(0.0, min(5.0, early - 2)))
            steady = {name: rss_mb(pid) for name, pid in pids.items()}
            db_sizes = (mb(stack.tmp / "temporal.db"), mb(stack.tmp / "app.db"))
            if early < 0:
                print(
                    f"WARNING: timers began to fire {-early:.0f} s before the last order was "
                    "placed; raise --margin",
                    flush=True,
                )
            await asyncio.sleep(max(0.0, min(due.values()).timestamp() - time.time() - 1))
            sampler.reset()
            recorder = profile.Recorder(opts.profile) if opts.profile else None
            if recorder:
                recorder.start({"worker": worker.pid})
            try:
                with measuring_cpu(pids) as cpu:
                    done_at = await wait_fired(engine, opts.firing, opts.timeout)
            finally:
                recordings = recorder.stop() if recorder else []
            sampler.sample()
            firing_peak = dict(sampler.peak)
        stack.check_alive()

        lags, fired_at = lag_seconds(engine, due)
        first_due = min(due.values())
        last_due = max(due.values())
        lag_txt = ", ".join(f"p{q} {percentile(lags, q):.2f} s" for q in (50, 95, 99))
        print()
        print(
            f"{opts.open:,} open orders ({waiting_n:,} waiting on a 24 h accept window, "
            f"{opts.firing:,} due at once):"
        )
        print(
            f"  RSS with all open:   worker {steady['worker']:7.1f} MB   dev server "
            f"{steady['temporal']:7.1f} MB   (idle before: {idle['worker']:.1f} / "
            f"{idle['temporal']:.1f} MB)"
        )
        print(
            f"  peak while placing:  worker {placing_peak['worker']:7.1f} MB   dev server "
            f"{placing_peak['temporal']:7.1f} MB"
        )
        print(
            f"  peak while firing:   worker {firing_peak['worker']:7.1f} MB   dev server "
            f"{firing_peak['temporal']:7.1f} MB"
        )
        print(f"  files: temporal.db {db_sizes[0]:.1f} MB, app.db {db_sizes[1]:.1f} MB (with WAL)")
        print(f"{opts.firing:,} timers due within {(last_due - first_due).total_seconds():.2f} s:")
        print(
            f"  lag due -> auto_cancel transition: {lag_txt}, max {max(lags):.2f} s "
            f"({len(lags)} orders)"
        )
        print(
            f"  last auto_cancel transition {(fired_at - first_due).total_seconds():.1f} s after "
            f"the first due time; all cancelled and refunded in the app database "
            f"{done_at - first_due.timestamp():.1f} s after it"
        )
        print(
            f"  CPU while firing: worker {cpu.used['worker']:.1f} s, dev server "
            f"{cpu.used['temporal']:.1f} s over {cpu.wall_s:.1f} s"
        )
        cache = "most still in" if opts.warm else "pushed out of"
        print(
            f"  the firing orders were placed {'after' if opts.warm else 'before'} the others: "
            f"{cache} the worker's workflow cache (the SDK's default, 1,000 workflows)"
        )
        for recording in recordings:
            print("\n".join(profile.summarize("worker", recording.output, cpu.wall_s).lines()))
        engine.dispose()
    return 0


async def wait_fired(engine: Engine, firing: int, timeout_s: float) -> float:
    """Epoch time when the app database shows every firing order cancelled and refunded."""
    started = time.time()
    while True:
        with engine.connect() as conn:
            cancelled = conn.execute(
                select(func.count())
                .select_from(order_timeline)
                .where(order_timeline.c.action == "auto_cancel")
            ).scalar_one()
            refunded = conn.execute(
                select(func.count()).select_from(transfers).where(transfers.c.kind == "refund")
            ).scalar_one()
        if cancelled >= firing and refunded >= firing:
            return time.time()
        if time.time() - started > timeout_s:
            raise TimeoutError(
                f"after {timeout_s} s: {cancelled} cancelled, {refunded} refunded of {firing}"
            )
        await asyncio.sleep(0.25)


def lag_seconds(engine: Engine, due: dict[str, datetime]) -> tuple[list[float], datetime]:
    t = order_timeline.c
    with engine.connect() as conn:
        rows = conn.execute(select(t.order_id, t.at).where(t.action == "auto_cancel")).all()
    lags = [(r.at - due[r.order_id]).total_seconds() for r in rows if r.order_id in due]
    return lags, max(r.at for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="Open orders waiting on timers; many firing.")
    parser.add_argument("--open", type=int, default=10_000, help="orders open at once")
    parser.add_argument("--firing", type=int, default=1_000, help="of them, due at one instant")
    parser.add_argument("--concurrency", type=int, default=40, help="placements in flight")
    parser.add_argument("--parties", type=int, default=20, help="clients (and creators)")
    parser.add_argument("--calibrate", type=int, default=300, help="orders placed to time it")
    parser.add_argument(
        "--margin", type=float, default=1.3, help="T = now + estimated placing time x this"
    )
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for firing")
    parser.add_argument(
        "--warm", action="store_true", help="place the firing orders last (cached in the worker)"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the worker while timers fire")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    opts = parser.parse_args()
    if not 0 < opts.firing <= opts.open:
        parser.error("--firing must be between 1 and --open")
    try:
        code = run_with_stack(opts.keep, lambda stack: run(opts, stack))
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # a process that ran a Temporal runtime can abort in teardown


if __name__ == "__main__":
    main()
