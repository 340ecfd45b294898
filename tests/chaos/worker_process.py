"""A worker in an OS process of its own, whose settlement hangs after the money moved.

    python -m tests.chaos.worker_process --ready READY_FILE [--release-marker MARKER_FILE]

It is the product's worker (bootstrap.build_worker, bootstrap.worker_activities, settings from
the XIGUA_* environment), except that, given MARKER_FILE, `release_escrow` runs the real
LedgerActivities.release, so the release transfer commits, then writes MARKER_FILE and blocks:
the money has moved and the activity never reports back. The test then kills the process with
SIGKILL, as a machine loss would. Without it, it is the product's worker unchanged, for tests
that freeze it (SIGSTOP). READY_FILE is written once the worker polls its task queue.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine
from temporalio import activity

from activities.ledger import LedgerActivities
from bootstrap import build_worker, connect_temporal, simulated_adapters, worker_activities
from config import get_settings
from db.engine import make_engine
from workflows.messages import OrderTerms


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def _release_then_hang(engine: Engine, marker: Path) -> Callable[[OrderTerms], None]:
    real = LedgerActivities(engine)
    never = threading.Event()

    @activity.defn(name="release_escrow")
    def release_then_hang(terms: OrderTerms) -> None:
        real.release(terms)  # commits the release transfer
        info = activity.info()
        _write_atomically(marker, f"{terms.order_id} attempt={info.attempt} pid={os.getpid()}\n")
        logging.info("release of %s committed; hanging until killed", terms.order_id)
        never.wait()

    return release_then_hang


async def main(ready: Path, marker: Path | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s chaos-worker %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    client = await connect_temporal(settings)
    activities = worker_activities(engine, simulated_adapters(engine))
    if marker is not None:
        activities["release_escrow"] = _release_then_hang(engine, marker)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    executor = ThreadPoolExecutor(max_workers=16)
    async with build_worker(client, settings.task_queue, activities, executor):
        _write_atomically(ready, f"{os.getpid()}\n")
        logging.info("polling %s at %s", settings.task_queue, settings.temporal_address)
        await stop.wait()
        # Only a test's cleanup gets here (the test itself kills the process): do not wait
        # for the hung activity thread.
        os._exit(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready", type=Path, required=True)
    parser.add_argument("--release-marker", type=Path)
    args = parser.parse_args()
    asyncio.run(main(args.ready, args.release_marker))
