"""The delivery relay (N1, N2, N3): takes every notification from the outbox to its
recipient's channels, on as many relays at once as run, without sending twice and without
losing one when a relay dies.

Two steps, each a short transaction, both safe to run on several relays at once:

- **Route.** A notification not yet routed gets one delivery row per channel and target: SMS
  and e-mail to a user's own contact phone and address (read at each attempt, never copied),
  a webhook per endpoint of a client, e-mail to each member of a group (ops, reviewers). The
  unique (notification, channel, target) makes routing twice harmless.
- **Claim, send, finish.** A relay claims due rows under a lease (PostgreSQL: `FOR UPDATE
  SKIP LOCKED`; SQLite: one conditional UPDATE, atomic since SQLite has one writer at a time),
  counting the attempt as it claims. It sends outside any transaction, then records the
  attempt and the outcome only if the row is still its claim (the attempt number fences off a
  relay whose lease ran out). A relay killed in the middle leaves a lease that expires; the
  row is then claimed again. So delivery is at least once to the endpoint, with a stable
  event id the receiver deduplicates on, and exactly once per channel while no lease expires.

A failed attempt is retried after an exponential backoff with full jitter (a uniform delay
between 0 and min(cap, first x 2^(attempt-1))), until `give_up_after` from routing; then the
delivery is marked failed. Each delivery is its own row: a failing channel, endpoint or
recipient delays nothing else, and the notification is in the inbox whatever happens here.

Time comes from an injectable clock, so tests skip time instead of sleeping.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, and_, or_, select, update

from adapters.email import Mail, Mailer, MailError
from adapters.telephony import SmsError, Telephony
from adapters.webhooks import WebhookError, WebhookResponse, signed_headers
from db.engine import reading
from db.schema import deliveries, delivery_attempts, notifications, users, webhook_endpoints
from db.sql import insert_ignore
from services.notifications import GROUPS, Message, message_of

log = logging.getLogger("xigua.relay")

Clock = Callable[[], datetime]
MAX_ERROR_LENGTH = 500
MAX_SMS_LENGTH = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookPoster(Protocol):
    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookResponse:
        """POST the body; the endpoint's answer, or WebhookError if there was none."""
        ...


@dataclass(frozen=True)
class Channels:
    """Where deliveries go out: each behind its adapter's Protocol."""

    telephony: Telephony
    mailer: Mailer
    webhooks: WebhookPoster


@dataclass(frozen=True)
class RelayPolicy:
    lease: timedelta = timedelta(seconds=60)
    batch: int = 50
    retry_first: timedelta = timedelta(seconds=30)
    retry_cap: timedelta = timedelta(hours=1)
    give_up_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempt: int
    notification_id: int
    channel: str
    target: str
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    # Failed for good (an address the mail server refuses): no retry can help.
    permanent: bool = False
    # Nothing to deliver to any more (an endpoint deleted, a contact removed).
    cancelled: bool = False


def backoff(policy: RelayPolicy, attempt: int, rng: random.Random) -> timedelta:
    """Full jitter: uniform in [0, min(cap, first x 2^(attempt-1))]."""
    first, cap = policy.retry_first.total_seconds(), policy.retry_cap.total_seconds()
    ceiling = min(cap, first * 2.0 ** min(attempt - 1, 64))
    return timedelta(seconds=ceiling * rng.random())


def webhook_body(message: Message) -> bytes:
    """The JSON a webhook delivers: what the inbox shows, with the stable event id."""
    payload = {
        "event_id": message.event_id,
        "type": message.kind,
        "notification_id": message.id,
        "order_id": message.order_id,
        "title": message.title,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _truncated(text: str) -> str:
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


class Relay:
    def __init__(
        self,
        engine: Engine,
        channels: Channels,
        policy: RelayPolicy | None = None,
        clock: Clock = utc_now,
        relay_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._channels = channels
        self.policy = policy or RelayPolicy()
        self._clock = clock
        self.relay_id = relay_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._rng = rng or random.Random()

    # ------------------------------------------------------------------ routing

    def route(self) -> int:
        """Make the delivery rows of a batch of unrouted notifications; how many were routed."""
        now = self._clock()
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(notifications.c.id, notifications.c.recipient)
                .where(notifications.c.routed_at.is_(None))
                .order_by(notifications.c.id)
                .limit(self.policy.batch)
                .with_for_update(skip_locked=True)  # SQLite: nothing, it has one writer
            ).all()
            if not rows:
                return 0
            recipients = {r.recipient for r in rows}
            people = {
                u.id: u
                for u in conn.execute(
                    select(users.c.id, users.c.phone, users.c.email).where(
                        users.c.id.in_(recipients - GROUPS.keys())
                    )
                )
            }
            hooks: dict[str, list[str]] = {}
            for e in conn.execute(
                select(webhook_endpoints.c.id, webhook_endpoints.c.user_id)
                .where(webhook_endpoints.c.user_id.in_(people))
                .order_by(webhook_endpoints.c.created_at)
            ):
                hooks.setdefault(e.user_id, []).append(e.id)
            members: dict[str, list[str]] = {}
            for group in recipients & GROUPS.keys():
                members[group] = list(
                    conn.execute(
                        select(users.c.id)
                        .where(users.c.role == GROUPS[group].value, users.c.email.is_not(None))
                        .order_by(users.c.id)
                    ).scalars()
                )
            for row in rows:
                targets: list[tuple[str, str]] = []
                if row.recipient in members:
                    targets += [("email", member) for member in members[row.recipient]]
                elif (person := people.get(row.recipient)) is not None:
                    if person.phone:
                        targets.append(("sms", person.id))
                    if person.email:
                        targets.append(("email", person.id))
                    targets += [("webhook", hook) for hook in hooks.get(person.id, [])]
                for channel, target in targets:
                    insert_ignore(
                        conn,
                        deliveries,
                        {
                            "notification_id": row.id,
                            "channel": channel,
                            "target": target,
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        },
                    )
            conn.execute(
                update(notifications)
                .where(notifications.c.id.in_([r.id for r in rows]))
                .values(routed_at=now)
            )
        return len(rows)

    # ------------------------------------------------------------------ claiming

    def claim(self, limit: int) -> list[Claim]:
        """Take up to `limit` due deliveries under a lease; each claim counts as an attempt."""
        if limit <= 0:
            return []
        now = self._clock()
        due = and_(
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until <= now),
        )
        picked = (
            select(deliveries.c.id)
            .where(due)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._engine.begin() as conn:
            rows = conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(picked.scalar_subquery()), due)
                .values(
                    claimed_by=self.relay_id,
                    claimed_until=now + self.policy.lease,
                    attempts=deliveries.c.attempts + 1,
                )
                .returning(
                    deliveries.c.id,
                    deliveries.c.attempts,
                    deliveries.c.notification_id,
                    deliveries.c.channel,
                    deliveries.c.target,
                    deliveries.c.created_at,
                )
            ).all()
        return sorted(
            (
                Claim(
                    delivery_id=r.id,
                    attempt=r.attempts,
                    notification_id=r.notification_id,
                    channel=r.channel,
                    target=r.target,
                    created_at=r.created_at,
                )
                for r in rows
            ),
            key=lambda c: c.delivery_id,
        )

    # ------------------------------------------------------------------ delivering

    def deliver(self, claim: Claim) -> str:
        """Send one claimed delivery and record the attempt; its outcome's name. Never raises
        for what a channel does: a broken channel is a failed attempt."""
        started = self._clock()
        try:
            outcome = self._send(claim, started)
        except Exception as e:
            log.exception("delivery %d (%s) failed unexpectedly", claim.delivery_id, claim.channel)
            outcome = Outcome(delivered=False, error=f"{type(e).__name__}: {e}")
        return self._finish(claim, outcome, started)

    def _send(self, claim: Claim, now: datetime) -> Outcome:
        with reading(self._engine) as conn:
            row = conn.execute(
                select(notifications).where(notifications.c.id == claim.notification_id)
            ).one()
            if claim.channel == "webhook":
                endpoint = conn.execute(
                    select(webhook_endpoints.c.url, webhook_endpoints.c.secret).where(
                        webhook_endpoints.c.id == claim.target
                    )
                ).first()
            else:
                contact = conn.execute(
                    select(users.c.phone, users.c.email).where(users.c.id == claim.target)
                ).first()
        message = message_of(row)
        if claim.channel == "webhook":
            if endpoint is None:
                return Outcome(delivered=False, cancelled=True, error="the endpoint was deleted")
            return self._post(endpoint.url, endpoint.secret, message, now)
        if claim.channel == "sms":
            if contact is None or not contact.phone:
                return Outcome(delivered=False, cancelled=True, error="no contact phone")
            try:
                self._channels.telephony.send_sms(
                    contact.phone,
                    message.text[:MAX_SMS_LENGTH],
                    f"{message.event_id}:{claim.target}",
                )
            except SmsError as e:
                return Outcome(delivered=False, error=f"SMS: {e}")
            return Outcome(delivered=True)
        if contact is None or not contact.email:
            return Outcome(delivered=False, cancelled=True, error="no e-mail address")
        mail = Mail(
            to=contact.email,
            subject=message.title,
            text=f"{message.body or message.title}\n\nOrder {message.order_id}\n"
            f"Event {message.event_id}\n",
            message_id=f"<{message.event_id}.{claim.target}@xigua-tasks.local>",
            event_id=message.event_id,
        )
        try:
            self._channels.mailer.send(mail)
        except MailError as e:
            return Outcome(delivered=False, error=f"e-mail: {e}", permanent=e.permanent)
        return Outcome(delivered=True)

    def _post(self, url: str, secret: str, message: Message, now: datetime) -> Outcome:
        body = webhook_body(message)
        headers = signed_headers(secret, message.event_id, int(now.timestamp()), body)
        try:
            response = self._channels.webhooks.post(url, headers, body)
        except WebhookError as e:
            return Outcome(delivered=False, error=str(e))
        if response.ok:
            return Outcome(delivered=True, status_code=response.status_code)
        return Outcome(
            delivered=False,
            status_code=response.status_code,
            error=f"the endpoint answered HTTP {response.status_code}",
        )

    def _finish(self, claim: Claim, outcome: Outcome, started: datetime) -> str:
        now = self._clock()
        error = _truncated(outcome.error) if outcome.error else None
        values: dict[str, Any] = {"claimed_by": None, "claimed_until": None, "last_error": error}
        give_up_at = claim.created_at + self.policy.give_up_after
        if outcome.delivered:
            name = "delivered"
            values |= {"status": "delivered", "delivered_at": now}
        elif outcome.cancelled:
            name = "cancelled"
            values |= {"status": "cancelled"}
        elif outcome.permanent or now >= give_up_at:
            name = "failed"
            values |= {"status": "failed"}
        else:
            name = "retrying"
            retry_at = min(now + backoff(self.policy, claim.attempt, self._rng), give_up_at)
            values |= {"next_attempt_at": retry_at}
        with self._engine.begin() as conn:
            insert_ignore(
                conn,
                delivery_attempts,
                {
                    "delivery_id": claim.delivery_id,
                    "attempt": claim.attempt,
                    "relay": self.relay_id,
                    "at": started,
                    "outcome": name,
                    "status_code": outcome.status_code,
                    "error": error,
                },
            )
            # Only while the row is still this claim: a relay whose lease ran out meanwhile
            # (another has claimed it since, with a higher attempt) records its attempt only.
            conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.id == claim.delivery_id,
                    deliveries.c.attempts == claim.attempt,
                    deliveries.c.status == "pending",
                )
                .values(**values)
            )
        return name

    # ------------------------------------------------------------------ running

    def run_once(self) -> int:
        """Route what is new, then claim and deliver what is due, until nothing is due now;
        how many deliveries were attempted. What tests call after moving the clock."""
        attempted = 0
        while self.route():
            pass
        while claims := self.claim(self.policy.batch):
            for claim in claims:
                self.deliver(claim)
            attempted += len(claims)
        return attempted

    def _deliver_logged(self, claim: Claim) -> str:
        try:
            return self.deliver(claim)
        except Exception:
            # Recording the outcome failed (the database away): the lease runs out and the
            # delivery is claimed again.
            log.exception("relay %s could not record delivery %d", self.relay_id, claim.delivery_id)
            return "unrecorded"

    def run(
        self,
        stop: threading.Event,
        poll_every: timedelta,
        concurrency: int,
        beat: Callable[[], None] = lambda: None,
    ) -> None:
        """Until `stop` is set: keep `concurrency` deliveries in flight, so one slow endpoint
        holds one thread and nothing else; wait `poll_every` when there is nothing to do.
        `beat` is called on every round (a liveness signal for a health check)."""
        log.info("relay %s running (%d at a time)", self.relay_id, concurrency)
        with ThreadPoolExecutor(concurrency, thread_name_prefix="deliver") as pool:
            flying: set[Future[str]] = set()
            while not stop.is_set():
                beat()
                flying = {f for f in flying if not f.done()}
                try:
                    routed = self.route()
                    claims = self.claim(concurrency - len(flying))
                except Exception:
                    # The database away, say: try again after a pause, never die of it.
                    log.exception("relay %s could not route or claim", self.relay_id)
                    stop.wait(poll_every.total_seconds())
                    continue
                flying |= {pool.submit(self._deliver_logged, claim) for claim in claims}
                if routed or claims:
                    continue
                if flying:
                    wait(flying, timeout=poll_every.total_seconds(), return_when=FIRST_COMPLETED)
                else:
                    stop.wait(poll_every.total_seconds())
            wait(flying)
        log.info("relay %s stopped", self.relay_id)
