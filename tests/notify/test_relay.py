"""The relay delivers the outbox through each recipient's channels to real local endpoints: SMS
through the simulated telephony provider, e-mail to an aiosmtpd server, signed webhooks to an
HTTP receiver; it retries a failing one with backoff on a clock the test moves, gives up after
24 h, and never lets one channel hold up another (rules N1 N2 N3)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from adapters.telephony import SimulatedTelephony
from adapters.webhooks import HttpWebhookSender
from services import webhooks
from services.notifications import HIDDEN_PHONE
from services.relay import Channels, RelayPolicy
from tests.notify.support import (
    CLIENT_EMAIL,
    CLIENT_ID,
    CLIENT_PHONE,
    CREATOR_EMAIL,
    CREATOR_ID,
    CREATOR_PHONE,
    OPS_IDS,
    REVIEWER_ID,
    T0,
    FakeClock,
    Receiver,
    attempts_of,
    channels,
    delivery_rows,
    free_port,
    make_relay,
    register,
    seed_recipients,
    smtp_server,
    transition,
    write_outbox,
)
from workflows.messages import Notification, Role

NEW_ORDER = Notification(recipient=CREATOR_ID, kind="new_order", body="Pearl River soy sauce")
ACCEPTED = Notification(recipient=CLIENT_ID, kind="accepted", body="the creator accepted")


def test_each_channel_delivers_to_a_real_local_endpoint_once(engine: Engine) -> None:
    # rules N1 N2 N3
    seed_recipients(engine)
    with smtp_server() as (mailbox, port), Receiver() as receiver:
        receiver.secret = register(engine, receiver.url)
        new_order, accepted = write_outbox(engine, "o-1", 1, [NEW_ORDER]) + write_outbox(
            engine, "o-1", 2, [ACCEPTED]
        )
        clock = FakeClock()
        relay = make_relay(engine, channels(engine, port), clock)
        assert relay.run_once() == 5  # creator: sms, e-mail; client: sms, e-mail, webhook

        # SMS: to each one's own contact phone, through the telephony adapter.
        sent = {number: text for _, number, text in SimulatedTelephony(engine).sent()}
        assert set(sent) == {CREATOR_PHONE, CLIENT_PHONE}
        assert "New order" in sent[CREATOR_PHONE]
        assert "o-1" in sent[CREATOR_PHONE]
        assert CREATOR_PHONE not in sent[CLIENT_PHONE]
        # E-mail: received by the SMTP server, addressed and worded as the inbox shows it.
        (mail,) = mailbox.to(CREATOR_EMAIL)
        assert mail["To"] == CREATOR_EMAIL
        assert mail["Subject"].startswith("New order")
        assert mail["X-Xigua-Event-Id"] == f"ntf_{new_order}"
        text = mail.get_payload()
        assert isinstance(text, str)
        assert "Pearl River soy sauce" in text
        assert "o-1" in text
        (client_mail,) = mailbox.to(CLIENT_EMAIL)
        assert client_mail["Subject"] == "The creator accepted your order"
        # Webhook: the client's endpoint, signed, with the stable event id.
        (hook,) = receiver.received
        assert hook.signature_valid
        assert hook.event_id == f"ntf_{accepted}"
        assert hook.timestamp == int(T0.timestamp())
        assert hook.payload == {
            "event_id": f"ntf_{accepted}",
            "type": "accepted",
            "notification_id": accepted,
            "order_id": "o-1",
            "title": "The creator accepted your order",
            "body": "the creator accepted",
            "created_at": hook.payload["created_at"],
        }
        assert {(d["channel"], d["status"], d["attempts"]) for d in delivery_rows(engine)} == {
            ("sms", "delivered", 1),
            ("email", "delivered", 1),
            ("webhook", "delivered", 1),
        }
        # Nothing is sent twice, whenever the relay looks again.
        clock.advance(timedelta(days=2))
        assert relay.run_once() == 0
        assert len(receiver.received) == 1
        assert len(mailbox.received) == 2
        assert len(SimulatedTelephony(engine).sent()) == 2


def test_a_group_notification_is_mailed_to_every_member(engine: Engine) -> None:
    # rule N1: ops (and reviewers) are addressed as a group
    seed_recipients(engine)
    escalated = Notification(recipient="ops", kind="escalated", body="no review within 24 h")
    remind = Notification(recipient="reviewers", kind="reminder", body="a review is due")
    write_outbox(engine, "o-1", 1, [escalated, remind])
    with smtp_server() as (mailbox, port):
        make_relay(engine, channels(engine, port), FakeClock()).run_once()
    for ops in OPS_IDS:
        (mail,) = mailbox.to(f"{ops}@xigua.example")
        assert mail["Subject"] == "A review is late: escalated to ops"
    (mail,) = mailbox.to(f"{REVIEWER_ID}@xigua.example")
    assert mail["Subject"].startswith("Reminder")
    assert SimulatedTelephony(engine).sent() == []  # SMS only to a party's own phone


def test_a_failing_webhook_is_retried_with_backoff_and_given_up_after_24_hours(
    engine: Engine,
) -> None:
    # rules N2 N3: exponential backoff with full jitter, on the relay's clock, no sleeping
    seed_recipients(engine)
    policy = RelayPolicy()
    with smtp_server() as (_, port), Receiver(statuses=[500]) as receiver:
        receiver.secret = register(engine, receiver.url)
        (notification,) = write_outbox(engine, "o-1", 1, [ACCEPTED])
        clock = FakeClock()
        relay = make_relay(engine, channels(engine, port), clock, policy=policy)
        relay.run_once()
        # The other channels of the same notification are delivered at once.
        assert {d["channel"]: d["status"] for d in delivery_rows(engine)} == {
            "sms": "delivered",
            "email": "delivered",
            "webhook": "pending",
        }
        (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
        give_up_at = hook["created_at"] + policy.give_up_after
        attempt = 1
        while True:
            row = next(d for d in delivery_rows(engine) if d["id"] == hook["id"])
            if row["status"] != "pending":
                break
            delay = row["next_attempt_at"] - clock.now
            ceiling = min(policy.retry_cap, policy.retry_first * 2 ** min(attempt - 1, 20))
            assert timedelta(0) <= delay <= ceiling, (attempt, delay)
            assert row["next_attempt_at"] <= give_up_at
            # Not a moment early: just before it is due, nothing is tried.
            if delay > timedelta(seconds=1):
                clock.advance(delay - timedelta(seconds=1))
                assert relay.run_once() == 0
            clock.to(row["next_attempt_at"])
            assert relay.run_once() == 1
            attempt += 1
        assert row["status"] == "failed"
        assert row["last_error"] == "the endpoint answered HTTP 500"
        log = attempts_of(engine, hook["id"])
        assert len(log) == attempt == len(receiver.received)
        assert len(log) > 10  # backing off to the cap still tries for a whole day
        assert [a["outcome"] for a in log] == ["retrying"] * (len(log) - 1) + ["failed"]
        assert log[-1]["at"] == give_up_at  # the last try is at the 24 h mark, then no more
        assert all(a["status_code"] == 500 for a in log)
        assert {r.event_id for r in receiver.received} == {f"ntf_{notification}"}
        assert all(r.signature_valid for r in receiver.received)
        clock.advance(timedelta(days=3))
        assert relay.run_once() == 0
        # The endpoint's log, as the client reads it: every attempt, newest first, in pages.
        page, more = webhooks.delivery_log(engine, CLIENT_ID, row["target"], 5, None)
        assert more
        assert [a.attempt for a in page] == list(range(len(log), len(log) - 5, -1))
        assert page[0].outcome == "failed"
        assert page[0].event_id == f"ntf_{notification}"
        rest, _ = webhooks.delivery_log(engine, CLIENT_ID, row["target"], 100, page[-1].id)
        assert len(page) + len(rest) == len(log)
        with pytest.raises(webhooks.WebhookError):  # another client's endpoint: not found
            webhooks.delivery_log(engine, "client-other", row["target"], 5, None)


def test_a_webhook_that_recovers_gets_the_same_event_again(engine: Engine) -> None:
    # rules N2 N3: at least once, with an event id the receiver deduplicates on
    seed_recipients(engine)
    with Receiver(statuses=[503, 500, 204]) as receiver:
        receiver.secret = register(engine, receiver.url)
        (notification,) = write_outbox(engine, "o-1", 1, [ACCEPTED])
        clock = FakeClock()
        relay = make_relay(engine, channels(engine, free_port()), clock)
        for _ in range(3):
            relay.run_once()
            clock.advance(timedelta(hours=1))  # past any delay of the first attempts
        assert receiver.events() == [f"ntf_{notification}"] * 3
        (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
        assert hook["status"] == "delivered"
        assert hook["attempts"] == 3
        assert [a["status_code"] for a in attempts_of(engine, hook["id"])] == [503, 500, 204]
        # A rotated secret signs every delivery from then on.
        secret = webhooks.rotate_secret(engine, CLIENT_ID, hook["target"], clock.now).secret
        receiver.secret = secret
        write_outbox(engine, "o-1", 2, [ACCEPTED])
        relay.run_once()
        assert receiver.received[-1].signature_valid


def test_a_redirect_is_not_followed(engine: Engine) -> None:
    # rule N2: a 3xx is a failed attempt; its Location (here cloud metadata) gets no request
    seed_recipients(engine)
    with Receiver(statuses=[302]) as receiver:
        receiver.secret = register(engine, receiver.url)
        write_outbox(engine, "o-1", 1, [ACCEPTED])
        make_relay(engine, channels(engine, free_port()), FakeClock()).run_once()
        assert len(receiver.received) == 1
    (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
    assert hook["status"] == "pending"
    assert hook["last_error"] == "the endpoint answered HTTP 302"


def test_a_failing_channel_blocks_no_other_channel_or_recipient(engine: Engine) -> None:
    # rules N1 N2: the SMTP server is down and the endpoint fails; SMS and the creator's
    # deliveries go out, and every notification is in its inbox regardless
    seed_recipients(engine)
    with Receiver(statuses=[500]) as receiver:
        receiver.secret = register(engine, receiver.url)
        write_outbox(engine, "o-1", 1, [NEW_ORDER, ACCEPTED])
        relay = make_relay(engine, channels(engine, free_port()), FakeClock())
        relay.run_once()
    status = {(d["channel"], d["target"]): d["status"] for d in delivery_rows(engine)}
    assert status[("sms", CREATOR_ID)] == status[("sms", CLIENT_ID)] == "delivered"
    assert status[("email", CREATOR_ID)] == status[("email", CLIENT_ID)] == "pending"
    assert [v for k, v in status.items() if k[0] == "webhook"] == ["pending"]
    errors = {d["channel"]: d["last_error"] for d in delivery_rows(engine) if d["last_error"]}
    assert "e-mail" in errors["email"]
    assert "HTTP 500" in errors["webhook"]


def test_a_host_that_resolves_to_a_private_address_at_delivery_is_refused(
    engine: Engine,
) -> None:
    # rule N2: DNS rebinding; the name resolved to a public address when it was registered
    seed_recipients(engine)
    webhooks.register(
        engine,
        CLIENT_ID,
        "https://hooks.client.example/xigua",
        T0,
        allow_loopback_http=False,
        resolver=lambda host, port: ["93.184.216.34"],
        max_endpoints=10,
    )
    write_outbox(engine, "o-1", 1, [ACCEPTED])
    rebound = channels(engine, free_port(), resolver=lambda host, port: ["10.0.0.7"])
    make_relay(engine, rebound, FakeClock()).run_once()
    (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
    assert hook["status"] == "pending"
    assert "does not resolve to public addresses only" in hook["last_error"]
    assert "10.0.0.7" not in hook["last_error"]  # the client reads the log: no map of our network
    (attempt,) = attempts_of(engine, hook["id"])
    assert attempt["status_code"] is None


def test_no_delivery_reveals_a_phone_number_typed_into_a_reason(engine: Engine) -> None:
    # rules C4 N1
    seed_recipients(engine)
    reason = f"call me on {CREATOR_PHONE[:3]} {CREATOR_PHONE[3:7]} {CREATOR_PHONE[7:]} instead"
    rejected = Notification(recipient=CLIENT_ID, kind="extension_requested", body=reason)
    with smtp_server() as (mailbox, port), Receiver() as receiver:
        receiver.secret = register(engine, receiver.url)
        write_outbox(engine, "o-1", 1, [rejected])
        make_relay(engine, channels(engine, port), FakeClock()).run_once()
        bodies = [
            json.dumps(receiver.received[0].payload),
            str(mailbox.to(CLIENT_EMAIL)[0].get_payload()),
            SimulatedTelephony(engine).sent(CLIENT_PHONE)[0][2],
        ]
    for body in bodies:
        assert HIDDEN_PHONE in body
        assert CREATOR_PHONE[7:] not in body


def test_an_endpoint_deleted_before_delivery_cancels_it(engine: Engine) -> None:
    # rule N2
    seed_recipients(engine)
    with Receiver() as receiver:
        register(engine, receiver.url)
        write_outbox(engine, "o-1", 1, [ACCEPTED])
        clock = FakeClock()
        chans = channels(engine, free_port())
        relay = make_relay(engine, chans, clock)
        relay.route()
        (endpoint,) = webhooks.endpoints_of(engine, CLIENT_ID)
        webhooks.remove(engine, CLIENT_ID, endpoint.id, clock.now)
        relay.run_once()
        assert receiver.received == []
    (hook,) = [d for d in delivery_rows(engine) if d["channel"] == "webhook"]
    assert hook["status"] == "cancelled"


def test_the_simulated_provider_sends_one_text_per_reference(engine: Engine) -> None:
    # rule N3: a retried send of the same message is one text
    telephony = SimulatedTelephony(engine)
    telephony.send_sms(CREATOR_PHONE, "hello", "ntf_1:creator")
    telephony.send_sms(CREATOR_PHONE, "hello", "ntf_1:creator")
    assert telephony.sent() == [("ntf_1:creator", CREATOR_PHONE, "hello")]


def test_a_channel_that_raises_is_a_failed_attempt_not_a_dead_relay(engine: Engine) -> None:
    # rule N1
    seed_recipients(engine)

    class Broken:
        def new_number(self) -> str:
            return "17000000000"

        def send_sms(self, to_number: str, text: str, reference: str) -> None:
            raise RuntimeError("the SDK blew up")

    write_outbox(engine, "o-1", 1, [NEW_ORDER])
    base = channels(engine, free_port())
    broken = Channels(
        telephony=Broken(),
        mailer=base.mailer,
        webhooks=HttpWebhookSender(resolver=lambda h, p: [], allow_loopback_http=True),
    )
    make_relay(engine, broken, FakeClock()).run_once()
    sms = next(d for d in delivery_rows(engine) if d["channel"] == "sms")
    assert sms["status"] == "pending"
    assert "the SDK blew up" in sms["last_error"]


def test_notifications_from_before_the_relay_stay_in_the_inbox_unsent(engine: Engine) -> None:
    # rule N1: the upgrade does not text weeks-old reminders
    from alembic import command

    from db import orders
    from db.migrate import alembic_config
    from services import notifications

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "0007")
    seed_recipients(engine)
    orders.record_transition(engine, transition("o-old", 1, [NEW_ORDER]))
    command.upgrade(cfg, "head")
    page = notifications.inbox(engine, CREATOR_ID, Role.CREATOR, 10)
    assert [i.message.kind for i in page.items] == ["new_order"]
    assert page.unread_count == 1
    assert make_relay(engine, channels(engine, free_port()), FakeClock()).run_once() == 0
    assert delivery_rows(engine) == []
