"""The worker process: runs order workflows and their activities. `python worker.py`."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from adapters.video_platform import SimulatedVideoPlatform
from bootstrap import build_worker, connect_temporal, order_activities
from config import get_settings
from db.engine import make_engine


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(levelname)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    client = await connect_temporal(settings)
    activities = order_activities(engine, SimulatedVideoPlatform(engine))
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(client, settings.task_queue, activities, executor)
        logging.info(
            "worker polling task queue %s at %s", settings.task_queue, settings.temporal_address
        )
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
