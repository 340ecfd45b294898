"""Real local endpoints for the relay's channels: an SMTP server (aiosmtpd) and an HTTP
receiver that checks each webhook's signature as a client would; a clock tests move by hand;
and an outbox with recipients of every kind."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, select

from adapters.email import SmtpMailer
from adapters.telephony import SimulatedTelephony
from adapters.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    HttpWebhookSender,
    Resolver,
    system_resolver,
)
from db import orders
from db.schema import deliveries, delivery_attempts
from services import creators, webhooks
from services.relay import Channels, Relay, RelayPolicy
from services.users import create_user
from workflows.messages import (
    SYSTEM,
    Action,
    Brief,
    Notification,
    OrderStatus,
    OrderTerms,
    ProjectionWrite,
    Role,
    Transition,
)

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CLIENT_ID, CREATOR_ID, OTHER_CLIENT_ID = "client-n", "creator-n", "client-other"
OPS_IDS = ("ops-a", "ops-b")
REVIEWER_ID = "reviewer-n"
CREATOR_PHONE, CLIENT_PHONE = "13900139000", "13700137000"
CREATOR_EMAIL, CLIENT_EMAIL = "creator-n@example.com", "client-n@example.com"


class FakeClock:
    """The relay's time: moved by the test, never slept through."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by

    def to(self, at: datetime) -> None:
        self.now = max(self.now, at)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- the SMTP server ---


@dataclass
class Mailbox:
    received: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.original_content or b""))
        )
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for rcpt, m in self.received if address in rcpt]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and its port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


# --- the webhook receiver ---


@dataclass
class Received:
    event_id: str
    timestamp: int
    payload: dict[str, Any]
    signature_valid: bool


class Receiver:
    """A client's endpoint: an HTTP server on 127.0.0.1 that verifies every delivery's
    signature with the secret, as docs/WEBHOOKS.md tells clients to, and answers with the
    status codes it is given, in turn (the last one from then on)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.secret = ""
        self.statuses = list(statuses or [200])
        self.received: list[Received] = []
        self.hold: threading.Event | None = None  # set: requests wait until it is set
        self.arrived = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                timestamp = self.headers[TIMESTAMP_HEADER]
                expected = hmac.new(
                    receiver.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                ).hexdigest()
                valid = hmac.compare_digest(self.headers[SIGNATURE_HEADER], f"v1={expected}")
                receiver.received.append(
                    Received(self.headers[EVENT_ID_HEADER], int(timestamp), json.loads(body), valid)
                )
                receiver.arrived.set()
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/xigua"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.hold is not None:
            self.hold.set()
        self._server.shutdown()
        self._server.server_close()

    def events(self) -> list[str]:
        return [r.event_id for r in self.received]


# --- parties, outbox, relay ---


def seed_recipients(engine: Engine) -> None:
    """A client and a creator with contact details, another client, two ops and a reviewer
    with e-mail addresses."""
    for user_id, role in (
        (CLIENT_ID, Role.CLIENT),
        (OTHER_CLIENT_ID, Role.CLIENT),
        (CREATOR_ID, Role.CREATOR),
        (REVIEWER_ID, Role.REVIEWER),
        *((ops, Role.OPS) for ops in OPS_IDS),
    ):
        create_user(engine, user_id, role, user_id)
    creators.set_contact(engine, CREATOR_ID, CREATOR_PHONE, CREATOR_EMAIL)
    creators.set_contact(engine, CLIENT_ID, CLIENT_PHONE, CLIENT_EMAIL)
    for staff in (*OPS_IDS, REVIEWER_ID):
        creators.set_contact(engine, staff, "13600136000", f"{staff}@xigua.example")


def terms(order_id: str) -> OrderTerms:
    return OrderTerms(
        order_id=order_id,
        client_id=CLIENT_ID,
        creator_id=CREATOR_ID,
        price_fen=100_000,
        fee_fen=5_000,
        brief=Brief(product="Pearl River soy sauce", requirements="Show the bottle"),
    )


def transition(order_id: str, seq: int, notes: list[Notification]) -> ProjectionWrite:
    """One transition of the order writing these notifications."""
    return ProjectionWrite(
        transition=Transition(
            order_id=order_id,
            seq=seq,
            at=T0 + timedelta(minutes=seq),
            actor=SYSTEM,
            action=Action.PLACE if seq == 1 else Action.REMIND,
            from_status=None,
            to_status=OrderStatus.AWAITING_ACCEPTANCE,
        ),
        terms=terms(order_id),
        placed_at=T0,
        next=[],
        notifications=notes,
    )


def write_outbox(engine: Engine, order_id: str, seq: int, notes: list[Notification]) -> list[int]:
    """The transition's outbox rows, written as the workflow's projection activity does; their
    ids."""
    orders.record_transition(engine, transition(order_id, seq, notes))
    return [n["id"] for n in orders.notifications_for(engine, order_id) if n["seq"] == seq]


def register(engine: Engine, url: str, user_id: str = CLIENT_ID) -> str:
    made = webhooks.register(
        engine,
        user_id,
        url,
        T0,
        allow_loopback_http=True,
        resolver=system_resolver,
        max_endpoints=10,
    )
    return made.secret


def channels(engine: Engine, smtp_port: int, resolver: Resolver = system_resolver) -> Channels:
    return Channels(
        telephony=SimulatedTelephony(engine),
        mailer=SmtpMailer(host="127.0.0.1", port=smtp_port, sender="xigua <n@xigua.test>"),
        webhooks=HttpWebhookSender(resolver=resolver, allow_loopback_http=True, timeout_s=5),
    )


def make_relay(
    engine: Engine,
    chans: Channels,
    clock: FakeClock,
    name: str = "relay-1",
    policy: RelayPolicy | None = None,
) -> Relay:
    return Relay(engine, chans, policy or RelayPolicy(), clock, relay_id=name)


def delivery_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(deliveries).order_by(deliveries.c.id)).all()
    return [dict(r._mapping) for r in rows]


def attempts_of(engine: Engine, delivery_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(delivery_attempts)
            .where(delivery_attempts.c.delivery_id == delivery_id)
            .order_by(delivery_attempts.c.attempt)
        ).all()
    return [dict(r._mapping) for r in rows]
