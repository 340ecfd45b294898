"""The bare-SDK baseline of `make bench`: the shape of one order's history, and the driver
that runs `BareOrder` (bench/bare.py) with that shape at a given concurrency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from bench.bare import BareOrder, Plan, Step
from bench.stack import run_pool

LOCAL_ACTIVITY_MARKER = "core_local_activity"
# What an order starts with (services/orders.py), with values of the same sizes.
START_ATTRIBUTES = TypedSearchAttributes(
    [
        SearchAttributePair(SearchAttributeKey.for_keyword("OrderStatus"), "placing"),
        SearchAttributePair(SearchAttributeKey.for_keyword("ClientId"), "c" * 32),
        SearchAttributePair(SearchAttributeKey.for_keyword("CreatorId"), "k" * 32),
    ]
)


@dataclass
class Shape:
    """What one workflow execution did, counted from its history."""

    events: int = 0
    bytes: int = 0
    updates: list[str] = field(default_factory=list)
    activities: int = 0
    local_activities: int = 0
    timers: int = 0
    upserts: int = 0
    workflow_tasks: int = 0
    # Where each activity and local activity ran: before the first update, in update i's
    # handler (between its Accepted and Completed events), or after the last update.
    start: Step = field(default_factory=Step)
    per_update: list[Step] = field(default_factory=list)
    tail: Step = field(default_factory=Step)
    tail_timers: int = 0
    # For each timer cancelled by an update: how many updates were done (or running) then.
    cancelled_timers: list[int] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)
    bytes_by_type: Counter[str] = field(default_factory=Counter)

    def biggest(self, top: int = 5) -> str:
        """The event types that take the most bytes of the history."""
        return ", ".join(
            f"{kind.lower()} {self.by_type[kind]} x = {size / 1024:.1f} KiB"
            for kind, size in self.bytes_by_type.most_common(top)
        )

    def describe(self) -> str:
        return (
            f"{self.events} events ({self.bytes / 1024:.1f} KiB): {len(self.updates)} updates, "
            f"{self.activities} activities, "
            f"{self.local_activities} local activities, {self.timers} timers, "
            f"{self.upserts} search-attribute upserts, "
            f"{self.workflow_tasks} workflow tasks"
        )

    def plan(self, tail_timer_s: float, upserts: bool = True) -> Plan:
        """The baseline's plan; without `upserts`, no search attributes (an older baseline)."""

        def copy(step: Step) -> Step:
            return replace(step, upserts=step.upserts if upserts else 0)

        return Plan(
            start=copy(self.start),
            updates=[copy(s) for s in self.per_update],
            tail=copy(self.tail),
            tail_timers=self.tail_timers,
            tail_timer_s=tail_timer_s,
            cancelled_timers=self.cancelled_timers,
            start_attributes=upserts,
        )


def shape_of(events: Iterable[HistoryEvent]) -> Shape:
    shape = Shape()
    open_updates: dict[str, int] = {}  # update id -> its number
    completed = 0
    # Work done outside any handler after an update: the tail, unless another update follows
    # (then it joins the start: the baseline runs it before its updates). Timers that fire
    # after the last update are the tail's.
    between, between_timers = Step(), 0

    def step() -> Step:
        if open_updates:
            return shape.per_update[max(open_updates.values())]
        return shape.start if completed == 0 else between

    for event in events:
        shape.events += 1
        shape.bytes += event.ByteSize()
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        shape.by_type[kind] += 1
        shape.bytes_by_type[kind] += event.ByteSize()
        match event.event_type:
            case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                accepted = event.workflow_execution_update_accepted_event_attributes
                open_updates[accepted.protocol_instance_id] = len(shape.updates)
                shape.updates.append(accepted.accepted_request.input.name)
                shape.per_update.append(Step())
                shape.start.activities += between.activities
                shape.start.local_activities += between.local_activities
                shape.start.upserts += between.upserts
                between, between_timers = Step(), 0
            case EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                update_id = event.workflow_execution_update_completed_event_attributes.meta
                open_updates.pop(update_id.update_id, None)
                completed += 1
            case EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                shape.activities += 1
                step().activities += 1
            case EventType.EVENT_TYPE_MARKER_RECORDED:
                if event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER:
                    shape.local_activities += 1
                    step().local_activities += 1
            case EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
                shape.upserts += 1
                step().upserts += 1
            case EventType.EVENT_TYPE_TIMER_STARTED:
                shape.timers += 1
            case EventType.EVENT_TYPE_TIMER_FIRED:
                if not open_updates and completed:
                    between_timers += 1
            case EventType.EVENT_TYPE_TIMER_CANCELED:
                running = max(open_updates.values()) + 1 if open_updates else completed
                shape.cancelled_timers.append(running)
            case EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                shape.workflow_tasks += 1
    shape.tail, shape.tail_timers = between, between_timers
    return shape


def minimal_plan(updates: int) -> Plan:
    """The minimal baseline: `updates` updates, the first (the placing) running the one
    activity; no local activities, no timers, no search attributes. What an order's updates
    cost on this server with nothing of an order in them."""
    return Plan(updates=[Step(activities=1), *(Step() for _ in range(updates - 1))])


@dataclass
class BareRun:
    wall_s: float
    # latencies[i]: seconds of update i as the caller saw it; update 0 includes the start.
    latencies: list[list[float]]
    workflow_ids: list[str]


async def drive(
    client: Client, task_queue: str, plan: Plan, orders: int, concurrency: int, prefix: str
) -> BareRun:
    """Start `orders` BareOrder workflows and send each its updates in turn, `concurrency`
    orders at a time; an order counts when its last update has returned."""
    latencies: list[list[float]] = [[] for _ in plan.updates]
    ids = [f"{prefix}-{i}" for i in range(orders)]

    async def one(i: int) -> None:
        started = time.perf_counter()
        handle: WorkflowHandle[BareOrder, int] = await client.start_workflow(
            BareOrder.run,
            plan,
            id=ids[i],
            task_queue=task_queue,
            search_attributes=START_ATTRIBUTES if plan.start_attributes else None,
        )
        for number in range(len(plan.updates)):
            await handle.execute_update(BareOrder.step, number)
            now = time.perf_counter()
            latencies[number].append(now - started)
            started = now

    wall = await run_pool(orders, concurrency, one)
    return BareRun(wall, latencies, ids)


async def history_shapes(client: Client, workflow_ids: list[str]) -> list[Shape]:
    gate = asyncio.Semaphore(10)

    async def one(workflow_id: str) -> Shape:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        return shape_of(history.events)

    return list(await asyncio.gather(*(one(w) for w in workflow_ids)))
