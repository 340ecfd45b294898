"""The worker process: runs order workflows and their activities. `python worker.py`.

SIGINT or SIGTERM stops it gracefully: it stops polling, lets running activities finish (up to
the graceful timeout) and exits; whatever it had not finished, Temporal hands to another worker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from bootstrap import build_worker, connect_temporal, simulated_adapters, worker_activities
from config import get_settings
from db.engine import make_engine

log = logging.getLogger("xigua.worker")


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    runtime = None
    if settings.worker_metrics_address:
        # The SDK's own metrics (task latencies, slots, polls) for Prometheus.
        metrics = PrometheusConfig(bind_address=settings.worker_metrics_address)
        runtime = Runtime(telemetry=TelemetryConfig(metrics=metrics))
    engine = make_engine(settings.database_url)
    client = await connect_temporal(settings, runtime=runtime)
    activities = worker_activities(engine, simulated_adapters(engine))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(
            client,
            settings.task_queue,
            activities,
            executor,
            graceful_shutdown_timeout=timedelta(seconds=20),
        )
        async with worker:
            log.info("polling task queue %s at %s", settings.task_queue, settings.temporal_address)
            await stop.wait()
            log.info("stopping: finishing the tasks in hand")
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
