"""Several relays on one database, and relays that die (rule N3): each notification is
delivered once per channel while the relays' leases hold, and at least once when one dies."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine

from adapters.telephony import SimulatedTelephony
from services.relay import Channels, RelayPolicy
from tests.notify.support import (
    CLIENT_ID,
    CREATOR_ID,
    FakeClock,
    Receiver,
    attempts_of,
    channels,
    delivery_rows,
    make_relay,
    register,
    seed_recipients,
    smtp_server,
    write_outbox,
)
from workflows.messages import Notification

ORDERS = 12


class CountingTelephony(SimulatedTelephony):
    """Counts every send it is asked for, which the provider's own deduplication would hide;
    each takes a provider's round trip, so the two relays overlap."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def send_sms(self, to_number: str, text: str, reference: str) -> None:
        with self._lock:
            self.asked[reference] += 1
        time.sleep(0.02)  # the provider's latency, not a wait for time to pass
        super().send_sms(to_number, text, reference)


def test_two_relays_at_once_deliver_each_notification_once_per_channel(engine: Engine) -> None:
    # rule N3: two relay instances, concurrently, on the same database (SQLite and PostgreSQL)
    seed_recipients(engine)
    with smtp_server() as (mailbox, port), Receiver() as receiver:
        receiver.secret = register(engine, receiver.url)
        for n in range(ORDERS):
            notes = [
                Notification(recipient=CREATOR_ID, kind="new_order", body=f"order {n}"),
                Notification(recipient=CLIENT_ID, kind="accepted", body=f"order {n}"),
                Notification(recipient="ops", kind="escalated", body=f"order {n}"),
            ]
            write_outbox(engine, f"o-{n}", 1, notes)
        base = channels(engine, port)
        telephony = CountingTelephony(engine)
        shared = Channels(telephony=telephony, mailer=base.mailer, webhooks=base.webhooks)
        clock = FakeClock()
        # Small batches, so the two interleave many times over the same rows.
        policy = RelayPolicy(batch=3)
        relays = [make_relay(engine, shared, clock, f"relay-{i}", policy) for i in (1, 2)]
        start = threading.Barrier(len(relays))
        attempted: dict[str, int] = {}
        failures: list[BaseException] = []

        def run(relay_index: int) -> None:
            relay = relays[relay_index]
            try:
                start.wait()
                total = 0
                while (done := relay.run_once()) or any(
                    d["status"] == "pending" for d in delivery_rows(engine)
                ):
                    total += done
                attempted[relay.relay_id] = total
            except BaseException as e:
                failures.append(e)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(relays))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []

        rows = delivery_rows(engine)
        # creator: sms + e-mail; client: sms + e-mail + webhook; ops: e-mail to each of two.
        assert len(rows) == ORDERS * 7
        assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in rows)
        assert sum(attempted.values()) == len(rows)
        assert set(telephony.asked.values()) == {1}
        assert len(telephony.asked) == ORDERS * 2
        assert len(mailbox.received) == ORDERS * 4
        assert len({m["Message-ID"] for _, m in mailbox.received}) == ORDERS * 4
        assert len(receiver.received) == ORDERS
        assert len(set(receiver.events())) == ORDERS
        # Which relay took which rows depends on the scheduler (one may take them all on a
        # fast database); what must hold whatever the interleaving is the once-per-channel above.


def test_a_relay_killed_mid_delivery_loses_nothing(engine: Engine) -> None:
    # rule N3: its lease runs out and another relay delivers; nothing is lost
    seed_recipients(engine)
    with Receiver() as receiver:
        receiver.secret = register(engine, receiver.url)
        notes = [Notification(recipient=CLIENT_ID, kind="accepted", body="accepted")]
        write_outbox(engine, "o-1", 1, notes)
        clock = FakeClock()
        policy = RelayPolicy(lease=timedelta(seconds=60))
        chans = channels(engine, 1)  # no SMTP server: e-mail fails and is retried later
        dying = make_relay(engine, chans, clock, "relay-dies", policy)
        survivor = make_relay(engine, chans, clock, "relay-lives", policy)
        dying.route()
        claims = dying.claim(10)
        assert {c.channel for c in claims} == {"sms", "email", "webhook"}
        # ... and it dies here, holding the claims. While its lease runs, nobody else sends.
        assert survivor.run_once() == 0
        clock.advance(timedelta(seconds=59))
        assert survivor.run_once() == 0
        clock.advance(timedelta(seconds=1))
        assert survivor.run_once() == 3
        by_channel = {d["channel"]: d for d in delivery_rows(engine)}
        assert by_channel["sms"]["status"] == by_channel["webhook"]["status"] == "delivered"
        assert by_channel["webhook"]["attempts"] == 2  # the dead relay's claim counts
        assert len(receiver.received) == 1
        # Had it only stalled, its late attempt sends again (at least once, the same event
        # id), and is fenced off: it does not overwrite what the survivor recorded.
        webhook_claim = next(c for c in claims if c.channel == "webhook")
        assert dying.deliver(webhook_claim) == "delivered"
        assert receiver.events() == [receiver.events()[0]] * 2
        after = {d["channel"]: d for d in delivery_rows(engine)}["webhook"]
        assert after["attempts"] == 2
        assert after["status"] == "delivered"
        assert [a["relay"] for a in attempts_of(engine, after["id"])] == [
            "relay-dies",
            "relay-lives",
        ]
        email = next(c for c in claims if c.channel == "email")
        dying.deliver(email)  # fails; must not move the survivor's retry schedule
        assert {d["channel"]: d for d in delivery_rows(engine)}["email"] == by_channel["email"]
