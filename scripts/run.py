"""`make run`: the whole system on this machine, on embedded defaults.

Starts the Temporal dev server (Web UI included, state in .data/temporal.db), applies the app
database migrations, seeds demo data, starts the worker and the API; Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from types import FrameType

from temporalio.client import Client

from config import DATA_DIR, PROJECT_ROOT, get_settings
from db.engine import make_engine
from db.migrate import upgrade
from scripts.seed import (
    DEMO_CLIENT,
    DEMO_CREATOR,
    DEMO_MCN,
    DEMO_MCN_CREATOR,
    DEMO_OPS,
    DEMO_PASSWORD,
    DEMO_REVIEWER,
    seed_demo,
)
from temporal_bins import temporal_cli

UI_PORT = int(os.environ.get("XIGUA_TEMPORAL_UI_PORT", "8233"))


def dev_server_command(address: str) -> list[str]:
    host, port = address.rsplit(":", 1)
    return [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename", str(DATA_DIR / "temporal.db"),
        # Without WAL the file-backed server is about twice as slow.
        "--sqlite-pragma", "journal_mode=WAL",
        "--sqlite-pragma", "synchronous=NORMAL",
        "--search-attribute", "OrderStatus=Keyword",
        "--search-attribute", "ClientId=Keyword",
        "--search-attribute", "CreatorId=Keyword",
        "--search-attribute", "NextDeadline=Datetime",
        "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
        "--ip", host,
        "--port", port,
        "--ui-port", str(UI_PORT),
        "--log-level", "warn",
    ]  # fmt: skip


async def wait_for_temporal(address: str, namespace: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await Client.connect(address, namespace=namespace)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


def wait_for_api(host: str, port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop children newest first (worker before server), politely, then firmly."""
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in reversed(processes):
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    settings = get_settings()
    DATA_DIR.mkdir(exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    names: dict[int, str] = {}

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        print("starting Temporal dev server ...", flush=True)
        processes.append(subprocess.Popen(dev_server_command(settings.temporal_address)))
        names[processes[-1].pid] = "the Temporal dev server"
        asyncio.run(wait_for_temporal(settings.temporal_address, settings.temporal_namespace))

        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        seed_demo(engine)
        engine.dispose()

        processes.append(subprocess.Popen([sys.executable, str(PROJECT_ROOT / "worker.py")]))
        names[processes[-1].pid] = "the worker"
        processes.append(subprocess.Popen([sys.executable, "-m", "api"], cwd=PROJECT_ROOT))
        names[processes[-1].pid] = "the API"
        wait_for_api(settings.api_host, settings.api_port)
        print(banner(settings.temporal_address), flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        dead = next(p for p in processes if p.poll() is not None)
        print(f"{names[dead.pid]} exited with {dead.returncode}; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stop(processes)


def banner(address: str) -> str:
    settings = get_settings()
    api = f"http://{settings.api_host}:{settings.api_port}"
    metrics = settings.api_metrics_address
    metrics_line = f"\n  API metrics       http://{metrics}/metrics" if metrics else ""
    return f"""
xigua-tasks is running.
  API               {api}   (OpenAPI: {api}/docs){metrics_line}
  Temporal Web UI   http://127.0.0.1:{UI_PORT}   (orders are workflows named order-<id>)
  Temporal server   {address}
  App database      {settings.database_url}
Demo accounts (username = id, password {DEMO_PASSWORD}):
  {DEMO_CLIENT} (client, 100,000 yuan), {DEMO_CREATOR} (creator), {DEMO_MCN_CREATOR}
  (creator in {DEMO_MCN}), {DEMO_MCN} (MCN), {DEMO_REVIEWER} (reviewer), {DEMO_OPS} (ops)
Log in:  curl -s -d 'username={DEMO_CLIENT}&password={DEMO_PASSWORD}' {api}/auth/token
Walk one order through its whole life in another terminal:  make demo
Press Ctrl-C to stop everything; state is kept in .data/.
"""


if __name__ == "__main__":
    sys.exit(main())
