"""The order projection: order rows, their timelines and outbox notifications (rule A4).

Written only by the workflow's projection activity, one transaction per transition, and
idempotent on (order_id, seq), so a retried activity writes nothing twice and a late retry
never rolls an order row back to an older state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    and_,
    bindparam,
    not_,
    or_,
    select,
    true,
    update,
)

from db.engine import reading
from db.schema import notifications, order_timeline, orders
from db.sql import insert_ignore
from workflows.messages import Action, Brief, OrderTerms, ProjectionWrite, Role

# The transitions that hand a script, video or republished video in for platform review: the
# review's wait starts with them (the queue's order, its waiting time).
HANDED_IN_FOR_REVIEW = frozenset({Action.SUBMIT_SCRIPT, Action.SUBMIT_VIDEO, Action.REPUBLISH})


def _row_values(write: ProjectionWrite) -> dict[str, Any]:
    first = write.next[0] if write.next else None
    handed_in = write.transition.action in HANDED_IN_FOR_REVIEW
    return {
        **({"submitted_for_review_at": write.transition.at} if handed_in else {}),
        # Only the cancellation with a split sets it; no other transition touches it.
        **({"split_refund_fen": s} if (s := write.split_refund_fen) is not None else {}),
        "escalated": write.escalated,
        "disputed": write.disputed,
        "overdue": write.overdue,
        "status": write.transition.to_status.value,
        "next_actor": first.actor.value if first else None,
        "next_actions": [
            {"actor": step.actor.value, "actions": [a.value for a in step.actions]}
            for step in write.next
        ],
        "deadline": first.deadline if first else None,
        "at_deadline": first.at_deadline if first else None,
        "last_seq": write.transition.seq,
        "updated_at": write.transition.at,
    }


# Built once, the values bound at execution (as `insert_ignore` does): this runs on every
# transition of every order.
_MOVE_ORDER = update(orders).where(
    orders.c.id == bindparam("b_id"), orders.c.last_seq < bindparam("b_seq")
)


def record_transition(engine: Engine, write: ProjectionWrite) -> bool:
    """Write one transition; False if it was already written (a retried activity)."""
    t, terms = write.transition, write.terms
    with engine.begin() as conn:
        # Every transition but the first finds its row: one UPDATE, no insert. A retry finds
        # last_seq already at its seq and updates nothing, which never rolls the row back.
        moved = conn.execute(
            _MOVE_ORDER, {"b_id": t.order_id, "b_seq": t.seq, **_row_values(write)}
        ).rowcount
        if not moved:
            insert_ignore(
                conn,
                orders,
                {
                    "id": terms.order_id,
                    "client_id": terms.client_id,
                    "creator_id": terms.creator_id,
                    "mcn_id": terms.mcn_id,
                    "price_fen": terms.price_fen,
                    "fee_fen": terms.fee_fen,
                    "skip_script": terms.skip_script,
                    "retention_days": terms.retention_days,
                    "brief": terms.brief.model_dump(mode="json"),
                    "created_at": write.placed_at,
                    **_row_values(write),
                },
            )
        fresh = insert_ignore(
            conn,
            order_timeline,
            {
                "order_id": t.order_id,
                "seq": t.seq,
                "at": t.at,
                "actor_id": t.actor.id,
                "actor_role": t.actor.role.value,
                "action": t.action.value,
                "from_status": t.from_status.value if t.from_status else None,
                "to_status": t.to_status.value,
                "reason": t.reason,
            },
        )
        if not fresh:
            return False
        for note in write.notifications:
            insert_ignore(
                conn,
                notifications,
                {
                    "order_id": t.order_id,
                    "seq": t.seq,
                    "recipient": note.recipient,
                    "kind": note.kind,
                    "body": note.body,
                    "created_at": datetime.now(UTC),
                },
            )
        return True


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    action: str
    from_status: str | None
    to_status: str
    reason: str | None


def timeline(engine: Engine, order_id: str) -> list[TimelineEntry]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(order_timeline)
            .where(order_timeline.c.order_id == order_id)
            .order_by(order_timeline.c.seq)
        ).all()
    return [
        TimelineEntry(
            seq=r.seq,
            at=r.at,
            actor_id=r.actor_id,
            actor_role=r.actor_role,
            action=r.action,
            from_status=r.from_status,
            to_status=r.to_status,
            reason=r.reason,
        )
        for r in rows
    ]


def order_row(engine: Engine, order_id: str) -> dict[str, Any] | None:
    with reading(engine) as conn:
        row = conn.execute(select(orders).where(orders.c.id == order_id)).first()
    return dict(row._mapping) if row else None


def terms_of(row: Mapping[str, Any]) -> OrderTerms:
    """An order's terms as its row recorded them (all but the creator's Xigua account)."""
    return OrderTerms(
        order_id=row["id"],
        client_id=row["client_id"],
        creator_id=row["creator_id"],
        mcn_id=row["mcn_id"],
        price_fen=row["price_fen"],
        fee_fen=row["fee_fen"],
        brief=Brief.model_validate(row["brief"]),
        skip_script=row["skip_script"],
        retention_days=row["retention_days"],
    )


def notifications_for(engine: Engine, order_id: str) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(notifications)
            .where(notifications.c.order_id == order_id)
            .order_by(notifications.c.seq, notifications.c.recipient)
        ).all()
    return [dict(r._mapping) for r in rows]


# What each review queue holds: orders in that status whose next actor is a reviewer. A
# republished video awaits its post-publication review while the order stays `published` (O10).
REVIEW_STATUSES = {
    "script": "script_in_review",
    "video": "video_in_review",
    "publication": "published",
}


def awaiting_review(kinds: Iterable[str] = REVIEW_STATUSES) -> ColumnElement[bool]:
    """Orders waiting for a reviewer, in the queues of these kinds."""
    return and_(
        orders.c.status.in_([REVIEW_STATUSES[kind] for kind in kinds]),
        orders.c.next_actor == Role.REVIEWER.value,
    )


def find_order(engine: Engine, order_id: str, visible: ColumnElement[bool]) -> Row[Any] | None:
    """The order row, if `visible` (the caller's access rule) lets the caller see it."""
    with reading(engine) as conn:
        return conn.execute(select(orders).where(orders.c.id == order_id, visible)).first()


@dataclass(frozen=True)
class OrderFilter:
    """What `GET /orders` narrows the caller's orders to (P1); None leaves a field open."""

    status: str | None = None
    client_id: str | None = None
    creator_id: str | None = None
    # Orders with a running deadline before this time (the row's nearest, as NextDeadline).
    deadline_before: datetime | None = None
    escalated: bool | None = None
    disputed: bool | None = None
    overdue: bool | None = None
    # True: any of the three flags (the ops attention list); False: none of them.
    attention: bool | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        c = orders.c
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (c.status, self.status),
            (c.client_id, self.client_id),
            (c.creator_id, self.creator_id),
            (c.escalated, self.escalated),
            (c.disputed, self.disputed),
            (c.overdue, self.overdue),
        ):
            if value is not None:
                found.append(column == value)
        if self.deadline_before is not None:
            found.append(c.deadline < self.deadline_before)
        flagged = or_(c.escalated == true(), c.disputed == true(), c.overdue == true())
        if self.attention is True:
            found.append(flagged)
        elif self.attention is False:
            found.append(not_(flagged))
        return found


def list_orders(
    engine: Engine,
    visible: ColumnElement[bool],
    filters: OrderFilter,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[Row[Any]]:
    """Newest first, by (created_at, id): a stable order that keyset cursors can resume. The
    filters only narrow what `visible` (the caller's access rule) lets the caller see."""
    query = select(orders).where(visible, *filters.clauses())
    if after is not None:
        created_at, order_id = after
        query = query.where(
            or_(
                orders.c.created_at < created_at,
                and_(orders.c.created_at == created_at, orders.c.id < order_id),
            )
        )
    query = query.order_by(orders.c.created_at.desc(), orders.c.id.desc()).limit(limit)
    with reading(engine) as conn:
        return list(conn.execute(query).all())


def review_queue(
    engine: Engine, kind: str, limit: int, after: tuple[datetime, str] | None = None
) -> list[Row[Any]]:
    """Orders whose script, video or republished video waits for platform review, longest
    waiting first (since it was handed in), resumable after a (submitted_for_review_at, id)."""
    since = orders.c.submitted_for_review_at
    query = select(orders).where(awaiting_review([kind]))
    if after is not None:
        submitted_at, order_id = after
        query = query.where(
            or_(since > submitted_at, and_(since == submitted_at, orders.c.id > order_id))
        )
    with reading(engine) as conn:
        return list(conn.execute(query.order_by(since, orders.c.id).limit(limit)).all())
