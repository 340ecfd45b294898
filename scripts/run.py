"""`make run`: the whole system on this machine, on embedded defaults.

Starts the Temporal dev server (Web UI included, state in .data/temporal.db), applies the app
database migrations, seeds demo data, starts a local mail server (scripts/mailsink.py, mail
kept in .data/mail/; not when XIGUA_SMTP_HOST names a real one), the worker, the notification
relay (relay.py) and the API, and supervises them: a child that dies is restarted with backoff
(scripts/supervisor.py) while the others stay up. Ctrl-C or SIGTERM stops everything, newest
first.

XIGUA_DATA_DIR moves the state out of .data/ (the app database too, unless XIGUA_DATABASE_URL
says otherwise); XIGUA_TEMPORAL_UI_PORT moves the Web UI off 8233.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from temporalio.client import Client

import config
from config import PROJECT_ROOT, get_settings
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
from scripts.supervisor import Supervisor
from temporal_bins import temporal_cli

UI_PORT = int(os.environ.get("XIGUA_TEMPORAL_UI_PORT", "8233"))
DATA_DIR = Path(os.environ.get("XIGUA_DATA_DIR", config.DATA_DIR))
# A local SMTP server for the relay's e-mail, unless the environment names a real one.
MAIL_SINK = "XIGUA_SMTP_HOST" not in os.environ


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
        "--search-attribute", "Escalated=Bool",
        "--search-attribute", "Disputed=Bool",
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


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor %(message)s")
    DATA_DIR.mkdir(exist_ok=True)
    # Read by get_settings() here and in every child, which inherit the environment.
    os.environ.setdefault("XIGUA_DATABASE_URL", f"sqlite:///{DATA_DIR / 'app.db'}")
    settings = get_settings()
    supervisor = Supervisor()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # The children have process groups of their own: a closed terminal (SIGHUP) or a
    # SIGTERM reaches only this process, which must pass it on.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        print("starting Temporal dev server ...", flush=True)
        supervisor.start("temporal", dev_server_command(settings.temporal_address))
        asyncio.run(wait_for_temporal(settings.temporal_address, settings.temporal_namespace))

        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        seed_demo(engine)
        engine.dispose()

        if MAIL_SINK:
            sink = [sys.executable, "-m", "scripts.mailsink", "--dir", str(DATA_DIR / "mail")]
            supervisor.start("mail", sink, cwd=PROJECT_ROOT)
        supervisor.start("worker", [sys.executable, str(PROJECT_ROOT / "worker.py")])
        supervisor.start("relay", [sys.executable, str(PROJECT_ROOT / "relay.py")])
        supervisor.start("api", [sys.executable, "-m", "api"], cwd=PROJECT_ROOT)
        wait_for_api(settings.api_host, settings.api_port)
        print(banner(settings.temporal_address), flush=True)
        supervisor.run_forever()
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        supervisor.stop()
    return 0


def banner(address: str) -> str:
    settings = get_settings()
    api = f"http://{settings.api_host}:{settings.api_port}"
    metrics = settings.api_metrics_address
    metrics_line = f"\n  API metrics       http://{metrics}/metrics" if metrics else ""
    mail = f"{settings.smtp_host}:{settings.smtp_port}"
    mail_line = f"{mail}   (kept in {DATA_DIR / 'mail'}/)" if MAIL_SINK else mail
    return f"""
xigua-tasks is running.
  Web app           {api}/app/   (clients, creators, MCNs, reviewers, ops; 中文 / English)
  API               {api}   (OpenAPI: {api}/docs){metrics_line}
  Temporal Web UI   http://127.0.0.1:{UI_PORT}   (orders are workflows named order-<id>)
  Temporal server   {address}
  App database      {settings.database_url}
  Notifications     inbox GET {api}/me/notifications; relay sends SMS (simulated), webhooks,
                    e-mail via SMTP {mail_line}
Demo accounts (username = id, password {DEMO_PASSWORD}):
  {DEMO_CLIENT} (client, 100,000 yuan), {DEMO_CREATOR} (creator), {DEMO_MCN_CREATOR}
  (creator in {DEMO_MCN}), {DEMO_MCN} (MCN), {DEMO_REVIEWER} (reviewer), {DEMO_OPS} (ops)
Log in:  curl -s -d 'username={DEMO_CLIENT}&password={DEMO_PASSWORD}' {api}/auth/token
Walk one order through its whole life in another terminal:  make demo
A child that dies is restarted; Ctrl-C stops everything. State is kept in {DATA_DIR}/.
"""


if __name__ == "__main__":
    code = main()
    # The Temporal runtime wait_for_temporal created can abort the interpreter's teardown
    # (PyGILState_Release, exit 134) after a clean stop; the children are already gone.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
