"""The baseline of `make bench`: a bare temporalio workflow with the shape of one order.

`BareOrder` runs the same number of updates, activities, local activities and tail timers as
an order's history shows (bench/baseline.py measures them and builds the `Plan`), with no HTTP,
no database, no pydantic and no validators: what the SDK and the server cost on their own.
With `baseline.minimal_plan` it is the minimal baseline instead: one update per request of an
order and one activity, nothing else.

Its worker runs as its own process, like the order worker: `python -m bench.bare --address
127.0.0.1:7233 --task-queue bare`. Only the SDK and the standard library are imported here,
because the workflow sandbox re-imports this module."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

TIMEOUT = timedelta(seconds=30)
# Stands in for the order's accept window and auto-accept countdown: long timers that updates
# make unnecessary, so they are started and cancelled, as in an order.
LONG_WAIT = timedelta(days=1)
# The order's own keyword attribute (the benchmark's server has it registered), so that an
# upsert here costs the server what an order's does.
STATUS = SearchAttributeKey.for_keyword("OrderStatus")
DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")


@dataclass
class Step:
    """What one part of the workflow runs: activities, then search-attribute upserts and
    local activities in turn (as an order's transition upserts, then records itself)."""

    activities: int = 0
    local_activities: int = 0
    upserts: int = 0


@dataclass
class Plan:
    start: Step = field(default_factory=Step)
    # updates[i] is what update number i runs in its handler.
    updates: list[Step] = field(default_factory=list)
    tail: Step = field(default_factory=Step)
    tail_timers: int = 0
    tail_timer_s: float = 0.0
    # One long timer per entry, each cancelled once this many updates are done.
    cancelled_timers: list[int] = field(default_factory=list)
    # Started with search attributes, as an order is (its status, client and creator).
    start_attributes: bool = False


def describe(plan: Plan) -> str:
    """The plan in one line: activities/local activities of each part."""

    def part(step: Step) -> str:
        return f"{step.activities}/{step.local_activities}/{step.upserts}"

    return (
        f"activities/local activities/search-attribute upserts: start {part(plan.start)}; updates "
        f"{' '.join(part(s) for s in plan.updates)}; tail {part(plan.tail)} after "
        f"{plan.tail_timers} timer(s) of {plan.tail_timer_s:g} s; long timers cancelled "
        f"once {plan.cancelled_timers} updates are done"
    )


@activity.defn(name="bare_activity")
async def bare_activity() -> None:
    return None


@workflow.defn(name="BareOrder")
class BareOrder:
    @workflow.init
    def __init__(self, plan: Plan) -> None:
        self._plan = plan
        self._started = False
        self._done = 0
        self._upserts = 0
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, plan: Plan) -> int:
        await self._run_step(plan.start)
        self._started = True
        for updates_done in plan.cancelled_timers:
            try:
                await workflow.wait_condition(self._done_at_least(updates_done), timeout=LONG_WAIT)
            except TimeoutError:
                return self._done
        await workflow.wait_condition(lambda: self._done == len(plan.updates))
        tail = plan.tail
        for i in range(max(plan.tail_timers, tail.activities, tail.local_activities, tail.upserts)):
            if i < plan.tail_timers:
                await workflow.sleep(plan.tail_timer_s)
            if i < tail.activities:
                await self._activity()
            if i < tail.upserts:
                self._upsert()
            if i < tail.local_activities:
                await self._local_activity()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._done

    @workflow.update
    async def step(self, index: int) -> int:
        """Update number `index`: waits for the start (as `placed` waits for the escrow),
        then runs its step under a lock (as every order update does)."""
        await workflow.wait_condition(lambda: self._started)
        async with self._lock:
            await self._run_step(self._plan.updates[index])
            self._done += 1
        return self._done

    def _done_at_least(self, n: int) -> Callable[[], bool]:
        return lambda: self._done >= n

    async def _run_step(self, step: Step) -> None:
        for _ in range(step.activities):
            await self._activity()
        for i in range(max(step.upserts, step.local_activities)):
            if i < step.upserts:
                self._upsert()
            if i < step.local_activities:
                await self._local_activity()

    def _upsert(self) -> None:
        self._upserts += 1
        workflow.upsert_search_attributes(
            [STATUS.value_set(f"step-{self._upserts}"), DEADLINE.value_set(workflow.now())]
        )

    @staticmethod
    async def _activity() -> None:
        await workflow.execute_activity(bare_activity, start_to_close_timeout=TIMEOUT)

    @staticmethod
    async def _local_activity() -> None:
        await workflow.execute_local_activity(bare_activity, start_to_close_timeout=TIMEOUT)


async def serve(address: str, task_queue: str) -> None:
    """The baseline's worker, until SIGINT or SIGTERM."""
    import signal

    from temporalio.client import Client
    from temporalio.worker import Worker

    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker = Worker(
        client, task_queue=task_queue, workflows=[BareOrder], activities=[bare_activity]
    )
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    import argparse
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue))
    os._exit(0)  # a process that ran a Temporal runtime can abort in interpreter teardown
