"""A relay process SIGKILLed in the middle of a webhook delivery (rule N3): its claim's lease
runs out, a second relay process delivers the notification, and nothing is lost."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.chaos.support import Children, until
from tests.notify.support import (
    CLIENT_ID,
    Receiver,
    attempts_of,
    delivery_rows,
    free_port,
    register,
    seed_recipients,
    write_outbox,
)
from workflows.messages import Notification

pytestmark = pytest.mark.chaos
LEASE_S = 3


async def test_a_relay_killed_mid_delivery_is_taken_over_by_another(
    children: Children, sqlite_engine: Engine, tmp_path: Path
) -> None:
    # rule N3: a relay killed mid-delivery loses nothing; at least once, the same event id
    engine = sqlite_engine
    seed_recipients(engine)
    with Receiver() as receiver:
        receiver.secret = register(engine, receiver.url)
        receiver.hold = threading.Event()  # the first request hangs: the relay is mid-delivery
        (notification,) = write_outbox(
            engine, "o-1", 1, [Notification(recipient=CLIENT_ID, kind="accepted", body="")]
        )
        env = {
            "XIGUA_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "XIGUA_RELAY_LEASE": str(LEASE_S),
            "XIGUA_RELAY_POLL_EVERY": "PT0.1S",
            "XIGUA_WEBHOOK_TIMEOUT": "30",
            "XIGUA_SMTP_PORT": str(free_port()),  # nobody there: e-mail retries, harmlessly
        }
        first = await children.start_python("relay-1", ["relay.py"], env)
        await until(receiver.arrived.is_set, [first], "the first relay's webhook request")
        assert await children.kill(first) == -9
        receiver.hold.set()  # whatever the dead relay's connection gets back, nobody reads it
        (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
        assert hook["status"] == "pending"
        assert hook["claimed_until"] is not None  # the dead relay's lease, running out

        second = await children.start_python("relay-2", ["relay.py"], env)

        def delivered() -> bool:
            rows = delivery_rows(engine)
            return any(d["channel"] == "webhook" and d["status"] == "delivered" for d in rows)

        await until(delivered, [second], "the second relay's delivery", bound_s=60)
        await children.stop(second)
        # The receiver saw the event twice (the dead relay's request and the retry), both
        # signed, with one event id to deduplicate on.
        assert receiver.events() == [f"ntf_{notification}"] * 2
        assert all(r.signature_valid for r in receiver.received)
        (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
        assert hook["attempts"] == 2
        (attempt,) = attempts_of(engine, hook["id"])  # the dead one recorded nothing
        assert attempt["outcome"] == "delivered"
        assert attempt["attempt"] == 2
        sms = next(d for d in delivery_rows(engine) if d["channel"] == "sms")
        assert sms["status"] == "delivered"
