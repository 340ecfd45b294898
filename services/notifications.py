"""Inboxes (rule N1): who a notification is for, what it says, and each reader's read state.

A notification's recipient is a user id or a group address: the order workflow addresses ops
as "ops" and the reviewers as "reviewers", and every user of that role has those in its inbox,
each with its own read state. No user can have a group's address as its id (services/users.py).

What a notification says is made here, from what the outbox row holds (kind, body, order), at
read time, for the inbox and for every channel alike: one text, however it reaches its reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    String,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from db.engine import reading
from db.schema import deliveries, notification_reads, notifications, users, webhook_endpoints
from db.sql import insert_ignore
from db.types import UTCDateTime
from workflows.messages import Role

# The group addresses the workflow writes, and the role whose users read them.
GROUPS: dict[str, Role] = {"ops": Role.OPS, "reviewers": Role.REVIEWER}
GROUP_OF_ROLE: dict[Role, str] = {role: address for address, role in GROUPS.items()}

TITLES: dict[str, str] = {
    "new_order": "New order: accept it within the accept window",
    "accepted": "The creator accepted your order",
    "script_rejected": "Your script was rejected",
    "video_rejected": "Your video was rejected",
    "republished": "The video was republished",
    "publication_approved": "The republished video passed review",
    "publication_rejected": "The republished video was rejected and taken down",
    "reminder": "Reminder: a deadline is near",
    "overdue": "The delivery is overdue",
    "escalated": "A review is late: escalated to ops",
    "extension_requested": "The creator asks for more time",
    "extension_answered": "Your request for more time was answered",
    "extension_lapsed": "Your request for more time lapsed",
    "deadline_moved": "A deadline was moved",
    "cancelled": "The order was cancelled",
    "cancel_refused": "A cancellation was refused",
    "paid": "Payment released",
    "retention_violation": "Retention violation: the video was removed too early",
    "escrow_already_settled": "The escrow was already settled",
    "cancellation_proposed": "The other party proposes to cancel by agreement",
    "cancellation_refused": "Your cancellation proposal was refused",
    "cancellation_lapsed": "A cancellation proposal lapsed",
    "dispute_opened": "A dispute was opened: ops decide",
    "dispute_escalated": "A dispute waits for ops: escalated again",
    "dispute_resolved": "The dispute was resolved",
}

# C4: a notification never passes on a real phone number or e-mail address, even one a party
# typed into a reason; the parties reach each other through virtual numbers only.
# Digits and signs may be typed full width (１３８００１３８０００, a＠b.com) and digits split by
# spaces, dots, dashes or brackets: folded before matching, as a reader would read them.
_FULL_WIDTH = {0xFF10 + i: ord("0") + i for i in range(10)} | {
    ord("＠"): "@",
    ord("＋"): "+",
    ord("．"): ".",
    ord("－"): "-",
    ord("（"): "(",
    ord("）"): ")",
}
_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s.()-]*)?1[3-9]\d(?:[\s.()-]*\d){8}(?!\d)")
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")
HIDDEN_PHONE = "[phone number hidden]"
HIDDEN_EMAIL = "[e-mail address hidden]"


def redact(text: str) -> str:
    # Folding keeps every character's position: one character for one.
    folded = text.translate(_FULL_WIDTH)
    spans = [m.span() for m in _PHONE.finditer(folded)]
    hidden = _hide(text, spans, HIDDEN_PHONE)
    folded = hidden.translate(_FULL_WIDTH)
    return _hide(hidden, [m.span() for m in _EMAIL.finditer(folded)], HIDDEN_EMAIL)


def _hide(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    for start, end in reversed(spans):
        text = text[:start] + mark + text[end:]
    return text


def title_of(kind: str) -> str:
    """What a notification of this kind is about; a kind added later reads as its name."""
    return TITLES.get(kind) or kind.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Message:
    """One notification as its reader sees it, whichever channel brings it."""

    id: int
    event_id: str
    kind: str
    order_id: str
    title: str
    body: str
    created_at: datetime

    @property
    def text(self) -> str:
        """The title and body in one line or two: an SMS, an e-mail's text."""
        return f"{self.title} (order {self.order_id})" + (f": {self.body}" if self.body else "")


def event_id(notification_id: int) -> str:
    """Stable for the notification, across retries and channels: a receiver drops repeats."""
    return f"ntf_{notification_id}"


def message_of(row: Row[Any]) -> Message:
    """A message from a notifications row (or any row with its columns)."""
    return Message(
        id=row.id,
        event_id=event_id(row.id),
        kind=row.kind,
        order_id=row.order_id,
        title=title_of(row.kind),
        body=redact(row.body),
        created_at=row.created_at,
    )


def addressed_to(user_id: str, role: Role) -> ColumnElement[bool]:
    """The notifications in this user's inbox: its own, and its role's group's."""
    group = GROUP_OF_ROLE.get(role)
    if group is None:
        return notifications.c.recipient == user_id
    return notifications.c.recipient.in_([user_id, group])


def _read_by(user_id: str) -> ColumnElement[bool]:
    return exists().where(
        notification_reads.c.user_id == user_id,
        notification_reads.c.notification_id == notifications.c.id,
    )


@dataclass(frozen=True)
class InboxItem:
    message: Message
    read_at: datetime | None


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    unread_count: int
    more: bool


def inbox(
    engine: Engine,
    user_id: str,
    role: Role,
    limit: int,
    before_id: int | None = None,
    unread_only: bool = False,
) -> InboxPage:
    """Newest first (by id, the order they were written in), `limit` from before `before_id`."""
    mine = addressed_to(user_id, role)
    read_at = (
        select(notification_reads.c.read_at)
        .where(
            notification_reads.c.user_id == user_id,
            notification_reads.c.notification_id == notifications.c.id,
        )
        .scalar_subquery()
    )
    query = select(notifications, read_at.label("read_at")).where(mine)
    if before_id is not None:
        query = query.where(notifications.c.id < before_id)
    if unread_only:
        query = query.where(~_read_by(user_id))
    query = query.order_by(notifications.c.id.desc()).limit(limit + 1)
    with reading(engine) as conn:
        rows = conn.execute(query).all()
        unread = _unread(conn, user_id, role)
    return InboxPage(
        items=[InboxItem(message_of(r), r.read_at) for r in rows[:limit]],
        unread_count=unread,
        more=len(rows) > limit,
    )


def mark_read(
    engine: Engine, user_id: str, role: Role, notification_id: int, now: datetime
) -> InboxItem | None:
    """Mark one notification read; None if it is not in this user's inbox. Marking it again
    keeps the first time it was read."""
    with engine.begin() as conn:
        row = conn.execute(
            select(notifications).where(
                notifications.c.id == notification_id, addressed_to(user_id, role)
            )
        ).first()
        if row is None:
            return None
        insert_ignore(
            conn,
            notification_reads,
            {"user_id": user_id, "notification_id": notification_id, "read_at": now},
        )
        read_at = conn.execute(
            select(notification_reads.c.read_at).where(
                notification_reads.c.user_id == user_id,
                notification_reads.c.notification_id == notification_id,
            )
        ).scalar_one()
    return InboxItem(message_of(row), read_at)


def mark_all_read(engine: Engine, user_id: str, role: Role, now: datetime) -> int:
    """Mark every notification in the inbox read, as of now; how many were unread. Exactly
    those that exist now: one written a moment later is still unread."""
    unread = select(
        literal(user_id, String()), notifications.c.id, literal(now, UTCDateTime())
    ).where(addressed_to(user_id, role), ~_read_by(user_id))
    with engine.begin() as conn:
        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        rows = conn.execute(
            dialect.insert(notification_reads)
            .from_select(["user_id", "notification_id", "read_at"], unread)
            .on_conflict_do_nothing()
            .returning(notification_reads.c.notification_id)
        ).all()
    return len(rows)


def unread_count(engine: Engine, user_id: str, role: Role) -> int:
    with reading(engine) as conn:
        return _unread(conn, user_id, role)


def _unread(conn: Connection, user_id: str, role: Role) -> int:
    count = conn.execute(
        select(func.count())
        .select_from(notifications)
        .where(addressed_to(user_id, role), ~_read_by(user_id))
    ).scalar_one()
    return int(count)


@dataclass(frozen=True)
class DeliveryLine:
    channel: str
    to: str  # masked: a phone's last four digits, an e-mail's domain, a webhook's host
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class Delivered:
    """One notification of an order and where it went (`make demo`, ops' questions)."""

    message: Message
    recipient: str
    deliveries: list[DeliveryLine]


def _masked(channel: str, phone: str | None, email: str | None, url: str | None) -> str:
    if channel == "sms" and phone:
        return f"{phone[:3]}****{phone[-4:]}"
    if channel == "email" and email:
        local, _, domain = email.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "webhook" and url:
        return urlsplit(url).netloc
    return "(gone)"


def deliveries_of_order(engine: Engine, order_id: str) -> list[Delivered]:
    """Every notification the order produced, oldest first, with each delivery's status."""
    with reading(engine) as conn:
        notes = conn.execute(
            select(notifications)
            .where(notifications.c.order_id == order_id)
            .order_by(notifications.c.id)
        ).all()
        rows = conn.execute(
            select(
                deliveries,
                users.c.phone,
                users.c.email,
                webhook_endpoints.c.url,
            )
            .join(notifications, notifications.c.id == deliveries.c.notification_id)
            .outerjoin(users, users.c.id == deliveries.c.target)
            .outerjoin(webhook_endpoints, webhook_endpoints.c.id == deliveries.c.target)
            .where(notifications.c.order_id == order_id)
            .order_by(deliveries.c.id)
        ).all()
    lines: dict[int, list[DeliveryLine]] = {}
    for r in rows:
        lines.setdefault(r.notification_id, []).append(
            DeliveryLine(
                channel=r.channel,
                to=_masked(r.channel, r.phone, r.email, r.url),
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
            )
        )
    return [Delivered(message_of(n), n.recipient, lines.get(n.id, [])) for n in notes]
