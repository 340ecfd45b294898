"""`make run` (python -m scripts.run) with its worker killed by SIGKILL: the supervisor starts
a new worker, the API stays up in the same process, orders are placed and acted on again, and
a SIGINT then stops everything, newest first."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from db.engine import make_engine
from scripts.seed import DEMO_CLIENT, DEMO_CREATOR, DEMO_PASSWORD
from tests.chaos.support import (
    Child,
    Children,
    assert_books_sound,
    free_port,
    transfer_kinds,
    until,
)

pytestmark = pytest.mark.chaos
BOUND_S = 120  # a generous bound on any one wait; the outcome does not depend on it
STARTED = re.compile(r"started (\w+) \(pid (\d+)\)")


def started(run: Child) -> dict[str, list[int]]:
    """Every child the supervisor started, by name, in order: from its log lines."""
    pids: dict[str, list[int]] = {}
    for name, pid in STARTED.findall(run.log_text()):
        pids.setdefault(name, []).append(int(pid))
    return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is dead, only not yet reaped
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return False


async def test_make_run_restarts_a_killed_worker_and_keeps_the_api_up(
    children: Children, tmp_path: Path
) -> None:
    # rules O1 O2 D1: with its worker killed, `make run` still places and moves orders
    api_port = free_port()
    api = f"http://127.0.0.1:{api_port}"
    database_url = f"sqlite:///{tmp_path / 'data' / 'app.db'}"
    env = {
        "XIGUA_DATA_DIR": str(tmp_path / "data"),
        "XIGUA_DATABASE_URL": database_url,
        "XIGUA_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "XIGUA_TEMPORAL_UI_PORT": str(free_port()),
        "XIGUA_API_HOST": "127.0.0.1",
        "XIGUA_API_PORT": str(api_port),
        "XIGUA_SMTP_PORT": str(free_port()),
    }
    begun = time.monotonic()
    run = await children.start_python("make-run", ["-m", "scripts.run"], env)
    pids: dict[str, list[int]] = {}
    try:
        await until(lambda: "xigua-tasks is running." in run.log_text(), [run], "the banner")
        pids = started(run)
        assert sorted(pids) == ["api", "mail", "relay", "temporal", "worker"]
        (worker,), (api_pid,) = pids["worker"], pids["api"]
        assert (tmp_path / "data" / "temporal.db").exists()

        async with httpx.AsyncClient(base_url=api, timeout=BOUND_S) as http:

            async def post(user: str, path: str, body: object = None) -> httpx.Response:
                key = uuid.uuid4().hex
                headers = {"Authorization": f"Bearer {tokens[user]}", "Idempotency-Key": key}
                return await http.post(path, json=body, headers=headers)

            tokens: dict[str, str] = {}
            for user in (DEMO_CLIENT, DEMO_CREATOR):
                login = await http.post(
                    "/auth/token", data={"username": user, "password": DEMO_PASSWORD}
                )
                assert login.status_code == 200, login.text
                tokens[user] = login.json()["access_token"]
            brief = {"creator_id": DEMO_CREATOR, "product": "Soy sauce", "requirements": "Cook"}
            before = await post(DEMO_CLIENT, "/orders", brief)
            assert before.status_code == 201, before.text
            first = before.json()["id"]
            # The relay e-mails the new order to the creator, through the local mail server.
            mail = tmp_path / "data" / "mail"
            await until(
                lambda: any(first in p.read_text(errors="replace") for p in mail.glob("*.eml")),
                [run],
                "the new order's e-mail in the mail sink",
            )

            killed_at = time.monotonic()
            os.kill(worker, signal.SIGKILL)
            await until(
                lambda: len(started(run).get("worker", [])) == 2, [run], "a new worker started"
            )
            restarted_at = time.monotonic()
            new_worker = started(run)["worker"][1]
            assert new_worker != worker
            assert alive(new_worker)
            assert not alive(worker)
            log = run.log_text()
            assert f"worker (pid {worker}) exited with signal SIGKILL after " in log
            assert "; restarting it in 1.0 s, at " in log
            await until(
                lambda: run.log_text().count("polling task queue") == 2,
                [run],
                "the new worker polls its task queue",
            )

            # The order placed before the kill moves on; a new one is placed and moves too.
            accepted = await post(DEMO_CREATOR, f"/orders/{first}/accept")
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["status"] == "script_pending"
            after = await post(DEMO_CLIENT, "/orders", brief)
            assert after.status_code == 201, after.text
            second = after.json()["id"]
            declined = await post(DEMO_CREATOR, f"/orders/{second}/decline", {"reason": "busy"})
            assert declined.status_code == 200, declined.text
            assert declined.json()["status"] == "cancelled"

        # The API and the server were never restarted.
        assert started(run) == {
            "temporal": pids["temporal"],
            "mail": pids["mail"],
            "worker": [worker, new_worker],
            "relay": pids["relay"],
            "api": [api_pid],
        }
        assert alive(api_pid)
        assert alive(pids["temporal"][0])

        run.process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(run.process.wait(), BOUND_S) == 0
        log = run.log_text()
        stopping = re.findall(r"stopping (\w+) \(pid", log)
        assert stopping == ["api", "relay", "worker", "mail", "temporal"]
        for name, each in started(run).items():
            for pid in each:
                assert not alive(pid), f"{name} (pid {pid}) outlived make run"

        engine = make_engine(database_url)
        assert transfer_kinds(engine, first) == {"freeze": 1}
        assert transfer_kinds(engine, second) == {"freeze": 1, "refund": 1}
        assert_books_sound(engine)
        engine.dispose()
        print(
            f"\nmake run: worker SIGKILLed, a new one started {restarted_at - killed_at:.1f} s "
            f"later; API pid unchanged; stopped in order by SIGINT; test took "
            f"{time.monotonic() - begun:.1f} s"
        )
    finally:
        if run.running:
            await children.stop(run, timeout_s=BOUND_S)
        # make run gives its children process groups of their own: if it was killed before
        # it could stop them, nothing else would.
        for each in started(run).values():
            for pid in each:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
