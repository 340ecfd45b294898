"""Helpers of the fault-injection tests: child processes, free ports, driving an order along the
happy path to a given status, and what the books must say afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select
from temporalio.client import Client

from db import ledger, orders
from db.schema import transfers
from tests.stack import CLIENT, CREATOR, REVIEWER, Stack, eventually
from workflows.messages import Action, Actor, OrderStatus, OrderView

PROJECT_ROOT = Path(__file__).resolve().parents[2]
S = OrderStatus

# The happy path, one step per status: who acts, how, and with what.
HAPPY_PATH: dict[OrderStatus, tuple[Action, Actor, dict[str, Any]]] = {
    S.AWAITING_ACCEPTANCE: (Action.ACCEPT, CREATOR, {}),
    S.SCRIPT_PENDING: (Action.SUBMIT_SCRIPT, CREATOR, {"text": "Open on the bottle."}),
    S.SCRIPT_IN_REVIEW: (Action.REVIEW_SCRIPT, REVIEWER, {"approve": True}),
    S.SCRIPT_AWAITING_CLIENT: (Action.CONFIRM_SCRIPT, CLIENT, {}),
    S.VIDEO_PENDING: (Action.SUBMIT_VIDEO, CREATOR, {}),  # video_id: video_for(order)
    S.VIDEO_IN_REVIEW: (Action.REVIEW_VIDEO, REVIEWER, {"approve": True}),
    S.VIDEO_AWAITING_CLIENT: (Action.CONFIRM_VIDEO, CLIENT, {}),
    S.AWAITING_PUBLISH: (Action.PUBLISH, CLIENT, {}),
    S.PUBLISHED: (Action.ACCEPT_DELIVERY, CLIENT, {}),
}
# The timeline of an order that went the happy path up to its publication.
TO_PUBLISHED = [
    "place",
    "accept",
    "submit_script",
    "review_script",
    "confirm_script",
    "submit_video",
    "review_video",
    "confirm_video",
    "publish",
]


def video_for(order_id: str) -> str:
    """One video per order, so that removing one order's video touches no other order."""
    return f"v-{order_id}"


async def advance(stack: Stack, order_id: str, to: OrderStatus) -> OrderView:
    """Take the happy-path actions, one by one, until the order is in status `to`."""
    view = await stack.view(order_id)
    while view.status is not to:
        assert view.status in HAPPY_PATH, f"order {order_id} is {view.status}, not going to {to}"
        action, actor, fields = HAPPY_PATH[view.status]
        if action is Action.SUBMIT_VIDEO:
            fields = {"video_id": video_for(order_id)}
        view = await stack.act(order_id, action, actor, **fields)
    return view


def transfer_kinds(engine: Engine, order_id: str) -> Counter[str]:
    with engine.connect() as conn:
        kinds = conn.execute(select(transfers.c.kind).where(transfers.c.order_id == order_id))
        return Counter(kinds.scalars())


def timeline_actions(engine: Engine, order_id: str) -> list[str]:
    entries = orders.timeline(engine, order_id)
    seqs = [e.seq for e in entries]
    assert seqs == list(range(1, len(entries) + 1)), f"order {order_id}: gaps in {seqs}"
    return [e.action for e in entries]


def assert_books_sound(engine: Engine) -> None:
    problems = ledger.check_invariants(engine)
    assert problems == [], "ledger invariants broken:\n" + "\n".join(problems)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_file(path: Path) -> IO[bytes]:
    return path.open("ab")


@dataclass
class Child:
    """An OS process started by a test, its output going to a log file."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return f"--- last lines of {self.name} ({self.log}) ---\n" + "\n".join(
            self.log_text().splitlines()[-lines:]
        )


async def until(
    check: Callable[[], bool | Awaitable[bool]],
    watched: list[Child],
    what: str,
    bound_s: float = 120,
) -> None:
    """Poll `check` until it holds, within a generous bound; fail at once, with its log, if a
    watched process exits meanwhile."""
    deadline = time.monotonic() + bound_s
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        for child in watched:
            assert child.running, f"{child.name} exited while waiting for {what}\n" + (
                child.log_tail(60)
            )
        assert time.monotonic() < deadline, f"never happened: {what}\n" + "\n".join(
            child.log_tail(60) for child in watched
        )
        await asyncio.sleep(0.1)


@dataclass
class Children:
    """Every process a test starts, so that none outlives it."""

    directory: Path
    started: list[Child] = field(default_factory=list)

    async def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        log = self.directory / f"{name}.log"
        with _log_file(log) as out:
            process = await asyncio.create_subprocess_exec(
                *args,
                cwd=PROJECT_ROOT,
                env={**os.environ, **(env or {})},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        child = Child(name, process, log)
        self.started.append(child)
        return child

    async def start_python(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> Child:
        return await self.start(name, [sys.executable, *args], env)

    @staticmethod
    async def stop(child: Child, timeout_s: float = 30) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit status."""
        if child.running:
            child.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), timeout_s)
            except TimeoutError:
                child.process.kill()
        return await child.process.wait()

    @staticmethod
    async def kill(child: Child) -> int:
        """SIGKILL: the process gets no chance to finish anything."""
        child.process.send_signal(signal.SIGKILL)
        return await child.process.wait()

    async def stop_all(self) -> None:
        for child in reversed(self.started):
            await self.stop(child)


def worker_env(client: Client, task_queue: str, engine: Engine) -> dict[str, str]:
    """The environment of a worker process on this test's server, task queue and database."""
    return {
        "XIGUA_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "XIGUA_TEMPORAL_NAMESPACE": client.namespace,
        "XIGUA_TASK_QUEUE": task_queue,
        "XIGUA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
    }


async def wait_for_file(path: Path, child: Child, what: str) -> None:
    async def written() -> bool:
        assert child.running, f"{child.name} exited early\n{child.log_tail()}"
        return await asyncio.to_thread(path.exists)

    await eventually(written, what, attempts=600)


def dev_server_command(db_file: Path, port: int) -> list[str]:
    """The dev server as `make run` starts it (scripts/run.py), on a file and port of the
    test's own, without the Web UI."""
    from temporal_bins import temporal_cli

    return [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename", str(db_file),
        "--sqlite-pragma", "journal_mode=WAL",
        "--sqlite-pragma", "synchronous=NORMAL",
        "--search-attribute", "OrderStatus=Keyword",
        "--search-attribute", "ClientId=Keyword",
        "--search-attribute", "CreatorId=Keyword",
        "--search-attribute", "NextDeadline=Datetime",
        "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--headless",
        "--log-level", "warn",
    ]  # fmt: skip
