"""The worker is killed with SIGKILL in the middle of a settlement, after the release transfer
committed and before the activity reported back; another worker takes over. The order must
complete with exactly one payout."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment

from adapters.video_platform import SimulatedVideoPlatform
from bootstrap import order_service
from db import ledger
from tests.chaos.support import (
    TO_PUBLISHED,
    Children,
    advance,
    assert_books_sound,
    timeline_actions,
    transfer_kinds,
    wait_for_file,
    worker_env,
)
from tests.stack import (
    CLIENT,
    CLIENT_FUNDS,
    CREATOR,
    PRICE,
    Stack,
    seed_parties,
    stack_settings,
)
from workflows.messages import Action, OrderStatus, OrderView, Timings

pytestmark = pytest.mark.chaos
S = OrderStatus
# The client accepts by hand (no auto-accept can race the test); retention lasts 1.5 s.
MANUAL = Timings(
    accept_window=timedelta(minutes=10),
    auto_accept_after=timedelta(minutes=10),
    retention_day=timedelta(milliseconds=50),
    video_check_every=timedelta(milliseconds=500),
)
# The release is a local activity of the workflow task that the killed worker held: the task
# is retried on the other worker after its timeout (10 s), which runs the release again (its
# key makes it move nothing). This bounds the whole wait generously.
SETTLEMENT_BOUND_S = 120


def release_outcome(events: list[HistoryEvent]) -> tuple[int, bool]:
    """How often the release was recorded (a local activity's marker), and whether a
    workflow task was lost to its timeout (the killed worker's)."""
    recorded = [
        e
        for e in events
        if e.HasField("marker_recorded_event_attributes")
        and b"release_escrow" in e.marker_recorded_event_attributes.SerializeToString()
    ]
    timed_out = any(e.HasField("workflow_task_timed_out_event_attributes") for e in events)
    return len(recorded), timed_out


async def test_worker_killed_during_settlement_pays_exactly_once(
    dev_server_env: WorkflowEnvironment,
    sqlite_engine: Engine,
    children: Children,
    tmp_path: Path,
) -> None:
    # rules O8 A2 A3: a settlement interrupted by a dead worker completes, and pays once
    client, engine = dev_server_env.client, sqlite_engine
    seed_parties(engine)
    task_queue = f"chaos-kill-{uuid.uuid4().hex[:8]}"
    stack = Stack(
        client=client,
        engine=engine,
        platform=SimulatedVideoPlatform(engine),
        service=order_service(client, engine, stack_settings(task_queue), MANUAL),
        task_queue=task_queue,
        timings=MANUAL,
    )
    env = worker_env(client, task_queue, engine)
    ready, marker = tmp_path / "worker-ready", tmp_path / "release-committed"
    started = time.monotonic()
    settle: asyncio.Task[OrderView] | None = None
    try:
        hanging = await children.start_python(
            "hanging-worker",
            [
                "-m",
                "tests.chaos.worker_process",
                "--ready",
                str(ready),
                "--release-marker",
                str(marker),
            ],
            env,
        )
        await wait_for_file(ready, hanging, "the hanging worker polls its task queue")

        order_id = (await asyncio.wait_for(stack.place(), 60)).terms.order_id
        await asyncio.wait_for(advance(stack, order_id, S.PUBLISHED), 60)
        settle = asyncio.create_task(stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT))
        await wait_for_file(marker, hanging, "the release transfer commits in the worker")

        # The money has moved, but the activity has not reported it: the update still waits.
        assert marker.read_text().startswith(f"{order_id} attempt=1 ")
        assert transfer_kinds(engine, order_id) == {"freeze": 1, "release": 1}
        assert not settle.done()

        assert await children.kill(hanging) == -signal.SIGKILL
        killed_at = time.monotonic()
        await children.start_python("worker", ["worker.py"], env)

        view = await asyncio.wait_for(settle, SETTLEMENT_BOUND_S)
        settled_at = time.monotonic()
        assert view.status is S.IN_RETENTION

        history = await stack.handle(order_id).fetch_history()
        assert release_outcome(list(history.events)) == (1, True)

        result = await asyncio.wait_for(stack.handle(order_id).result(), 60)
        assert result.status is S.COMPLETED
        assert transfer_kinds(engine, order_id) == {"freeze": 1, "release": 1}
        fee = stack.fee
        assert stack.balances(order_id) == {
            ledger.client_account(CLIENT.id): CLIENT_FUNDS - PRICE - fee,
            ledger.escrow_account(order_id): 0,
            ledger.creator_account(CREATOR.id): PRICE,
            ledger.creator_account("creator-mcn"): 0,
            ledger.mcn_account("mcn-1"): 0,
            ledger.PLATFORM_FEES: fee,
        }
        assert timeline_actions(engine, order_id) == [
            *TO_PUBLISHED,
            "accept_delivery",
            "retention_ended",
        ]
        assert_books_sound(engine)
        print(
            f"\nworker killed: order {order_id} settled {settled_at - killed_at:.1f} s after "
            f"SIGKILL; test took {time.monotonic() - started:.1f} s"
        )
    finally:
        if settle is not None and not settle.done():
            settle.cancel()
        await stack.terminate_open_orders()  # Stack.place recorded the order
