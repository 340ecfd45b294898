"""The alternating rounds of `make bench`: each side (a `Contestant`) drives its orders in
turn, its figures pooled over the rounds (`merged`), in an order that cancels drift."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.ours import Phase
from bench.stack import CpuMeter, Sampler, measuring_cpu


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


def round_order(sides: list[Contestant], rounds: int) -> list[list[Contestant]]:
    """The sides in the given order in odd rounds and reversed in even ones (ABBA; with three,
    ABC CBA): every side's mean position is the same, so a machine that slows down or speeds
    up during the run, and the server's growing SQLite files, weigh on all sides alike."""
    return [sides if r % 2 == 0 else sides[::-1] for r in range(rounds)]


async def alternate(sides: list[Contestant], opts: Options) -> dict[str, Phase]:
    """`opts.orders` orders of each side in `opts.rounds` rounds, each side's pooled over them;
    one line a round, each side's throughput and the first side's ratio to each other's."""
    done: dict[str, list[Phase]] = {side.name: [] for side in sides}
    for r, order in enumerate(round_order(sides, opts.rounds)):
        size = opts.orders // opts.rounds + (r < opts.orders % opts.rounds)
        for side in order:
            done[side.name].append(await side.timed(Phase(side.name, size, opts.concurrency)))
        last = {name: phases[-1].throughput for name, phases in done.items()}
        ours, *others = sides
        print(
            f"round {r + 1} ({', '.join(s.name for s in order)}): "
            + ", ".join(f"{name} {x:.2f}" for name, x in last.items())
            + " orders/s, ratio "
            + ", ".join(f"vs {o.name} {last[ours.name] / last[o.name]:.2f}" for o in others),
            flush=True,
        )
    return {name: merged(name, phases) for name, phases in done.items()}
