"""The notification relay process: delivers the outbox by SMS, e-mail and webhook (N1-N3).
`python relay.py`; `make run` starts and supervises one. Run as many as you like, on any
machines that reach the app database: they share the work through row claims
(services/relay.py) and never send a notification twice through one channel while their
leases hold.

SIGINT or SIGTERM stops it: it takes no new deliveries and finishes those in flight; one it
could not finish is claimed again by another relay once its lease runs out.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from bootstrap import relay, simulated_adapters
from config import get_settings
from db.engine import make_engine

log = logging.getLogger("xigua.relay")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s relay %(levelname)s %(message)s")
    settings = get_settings()
    engine = make_engine(settings.database_url)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    log.info(
        "delivering from %s; e-mail via %s:%d",
        engine.url.render_as_string(hide_password=True),
        settings.smtp_host,
        settings.smtp_port,
    )
    heartbeat = Path(settings.relay_heartbeat_file) if settings.relay_heartbeat_file else None
    relay(engine, settings, simulated_adapters(engine)).run(
        stop,
        settings.relay_poll_every,
        settings.relay_concurrency,
        beat=heartbeat.touch if heartbeat else lambda: None,
    )
    engine.dispose()


if __name__ == "__main__":
    main()
