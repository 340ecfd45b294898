"""What ops filter on (SPEC P1) and what the review queues read (D2), in the order projection:
the flags each transition writes, the filters of `GET /orders`, and the migration that adds
them to orders already running. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import Engine, text, true

from db import orders, schema
from db.migrate import alembic_config
from workflows.messages import (
    SYSTEM,
    Action,
    Brief,
    NextStep,
    OrderStatus,
    OrderTerms,
    ProjectionWrite,
    Role,
    Transition,
)

S = OrderStatus
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def terms(order_id: str, client_id: str = "c-1", creator_id: str = "k-1") -> OrderTerms:
    return OrderTerms(
        order_id=order_id,
        client_id=client_id,
        creator_id=creator_id,
        price_fen=100,
        fee_fen=5,
        brief=Brief(product="tea", requirements="show it"),
    )


def write(
    order: OrderTerms,
    seq: int,
    to: OrderStatus,
    action: Action,
    *,
    placed_at: datetime = T0,
    deadline: datetime | None = None,
    actor: Role = Role.CREATOR,
    escalated: bool = False,
    disputed: bool = False,
    overdue: bool = False,
) -> ProjectionWrite:
    return ProjectionWrite(
        transition=Transition(
            order_id=order.order_id,
            seq=seq,
            at=placed_at + seq * MINUTE,
            actor=SYSTEM,
            action=action,
            from_status=None,
            to_status=to,
        ),
        terms=order,
        placed_at=placed_at,
        next=[NextStep(actor=actor, actions=[], deadline=deadline)],
        escalated=escalated,
        disputed=disputed,
        overdue=overdue,
    )


def row(engine: Engine, order_id: str) -> dict[str, object]:
    found = orders.order_row(engine, order_id)
    assert found is not None
    return found


def test_each_transition_writes_the_flags_as_the_workflow_has_them(engine: Engine) -> None:
    # rules P1 D2
    o = terms("o-1")
    orders.record_transition(engine, write(o, 1, S.SCRIPT_IN_REVIEW, Action.SUBMIT_SCRIPT))
    fresh = row(engine, "o-1")
    assert (fresh["escalated"], fresh["disputed"], fresh["overdue"]) == (False, False, False)
    assert fresh["submitted_for_review_at"] == T0 + MINUTE

    # The escalation at the review's deadline is a transition in the same status.
    escalation = write(o, 2, S.SCRIPT_IN_REVIEW, Action.ESCALATE, escalated=True)
    orders.record_transition(engine, escalation)
    escalated = row(engine, "o-1")
    assert escalated["escalated"] is True
    assert escalated["submitted_for_review_at"] == T0 + MINUTE  # the wait began at the hand-in

    # A retried older write rolls no flag back; the next status clears it.
    orders.record_transition(engine, write(o, 1, S.SCRIPT_IN_REVIEW, Action.SUBMIT_SCRIPT))
    assert row(engine, "o-1")["escalated"] is True
    orders.record_transition(engine, write(o, 3, S.SCRIPT_PENDING, Action.REVIEW_SCRIPT))
    assert row(engine, "o-1")["escalated"] is False
    orders.record_transition(engine, write(o, 4, S.SCRIPT_PENDING, Action.OVERDUE, overdue=True))
    assert row(engine, "o-1")["overdue"] is True
    orders.record_transition(engine, write(o, 5, S.SCRIPT_IN_REVIEW, Action.SUBMIT_SCRIPT))
    again = row(engine, "o-1")
    assert (again["overdue"], again["submitted_for_review_at"]) == (False, T0 + 5 * MINUTE)


def _seed_for_filters(engine: Engine) -> dict[str, OrderTerms]:
    """Seven orders placed a minute apart, o-0 the oldest, with one feature each to filter."""
    placed: dict[str, OrderTerms] = {}
    shapes: list[tuple[str, str, OrderStatus, dict[str, Any], timedelta | None]] = [
        ("c-1", "k-1", S.AWAITING_ACCEPTANCE, {}, timedelta(hours=24)),
        ("c-1", "k-1", S.SCRIPT_IN_REVIEW, {"escalated": True}, None),
        ("c-1", "k-2", S.SCRIPT_PENDING, {"overdue": True}, timedelta(days=7)),
        ("c-2", "k-1", S.VIDEO_PENDING, {"disputed": True}, None),
        ("c-2", "k-2", S.PUBLISHED, {}, timedelta(days=7)),
        ("c-2", "k-2", S.SCRIPT_PENDING, {"overdue": True, "escalated": False}, timedelta(hours=1)),
        ("c-1", "k-2", S.CANCELLED, {}, None),
    ]
    for n, (client, creator, status, flags, due) in enumerate(shapes):
        o = terms(f"o-{n}", client, creator)
        at = T0 + n * MINUTE
        deadline = at + due if due else None
        orders.record_transition(
            engine, write(o, 1, status, Action.PLACE, placed_at=at, deadline=deadline, **flags)
        )
        placed[o.order_id] = o
    return placed


def listed(engine: Engine, **filters: Any) -> list[str]:
    rows = orders.list_orders(engine, true(), orders.OrderFilter(**filters), 100, None)
    return [r.id for r in rows]


def test_ops_filters_narrow_every_order_newest_first(engine: Engine) -> None:
    # rule P1
    _seed_for_filters(engine)
    assert listed(engine) == [f"o-{n}" for n in reversed(range(7))]
    assert listed(engine, status="script_pending") == ["o-5", "o-2"]
    assert listed(engine, client_id="c-2") == ["o-5", "o-4", "o-3"]
    assert listed(engine, creator_id="k-1") == ["o-3", "o-1", "o-0"]
    assert listed(engine, client_id="c-1", creator_id="k-2") == ["o-6", "o-2"]
    assert listed(engine, escalated=True) == ["o-1"]
    assert listed(engine, disputed=True) == ["o-3"]
    assert listed(engine, overdue=True) == ["o-5", "o-2"]
    assert listed(engine, overdue=True, client_id="c-1") == ["o-2"]
    assert listed(engine, overdue=False, status="script_pending") == []
    assert listed(engine, attention=True) == ["o-5", "o-3", "o-2", "o-1"]
    assert listed(engine, attention=False) == ["o-6", "o-4", "o-0"]
    # o-0 is due at T0 + 24 h, o-5 at T0 + 5 min + 1 h; o-2 and o-4 a week on; the rest never.
    assert listed(engine, deadline_before=T0 + timedelta(hours=2)) == ["o-5"]
    assert listed(engine, deadline_before=T0 + timedelta(days=2)) == ["o-5", "o-0"]
    assert listed(engine, deadline_before=T0 + timedelta(days=2), status="script_pending") == [
        "o-5"
    ]
    assert listed(engine, attention=True, deadline_before=T0 + timedelta(days=30)) == [
        "o-5",
        "o-2",
    ]


def test_filters_never_widen_what_the_caller_may_see(engine: Engine) -> None:
    # rule P1: a client naming another client's id finds nothing of it
    _seed_for_filters(engine)
    own = orders.OrderFilter(client_id="c-2")
    mine = orders.list_orders(engine, schema.orders.c.client_id == "c-1", own, 100, None)
    assert mine == []
    theirs = orders.OrderFilter(creator_id="k-1")
    as_creator = orders.list_orders(engine, schema.orders.c.creator_id == "k-2", theirs, 100, None)
    assert as_creator == []


def test_filtered_pages_resume_where_the_last_ended(engine: Engine) -> None:
    # rule P1
    _seed_for_filters(engine)
    seen: list[str] = []
    after: tuple[datetime, str] | None = None
    while True:
        page = orders.list_orders(engine, true(), orders.OrderFilter(attention=True), 3, after)
        seen += [r.id for r in page[:2]]
        if len(page) <= 2:
            break
        after = (page[1].created_at, page[1].id)
    assert seen == ["o-5", "o-3", "o-2", "o-1"]


def test_the_review_queue_is_ordered_by_hand_in_not_by_the_last_transition(
    engine: Engine,
) -> None:
    # rules O4 D2 D3: a reminder or an escalation moves the row's updated_at, not its place
    first, second = terms("o-a"), terms("o-b")
    handed_in = write(first, 1, S.SCRIPT_IN_REVIEW, Action.SUBMIT_SCRIPT, actor=Role.REVIEWER)
    orders.record_transition(engine, handed_in)
    later = write(
        second,
        1,
        S.SCRIPT_IN_REVIEW,
        Action.SUBMIT_SCRIPT,
        placed_at=T0 + MINUTE,
        actor=Role.REVIEWER,
    )
    orders.record_transition(engine, later)
    reminded = write(first, 9, S.SCRIPT_IN_REVIEW, Action.REMIND, actor=Role.REVIEWER)
    orders.record_transition(engine, reminded)
    queue = orders.review_queue(engine, "script", 10)
    assert [r.id for r in queue] == ["o-a", "o-b"]
    assert [r.submitted_for_review_at for r in queue] == [T0 + MINUTE, T0 + 2 * MINUTE]
    assert queue[0].updated_at > queue[1].updated_at
    after = (queue[0].submitted_for_review_at, queue[0].id)
    assert [r.id for r in orders.review_queue(engine, "script", 10, after)] == ["o-b"]


def test_the_upgrade_flags_orders_already_escalated_or_overdue(engine: Engine) -> None:
    # rules P1 D2: running orders are found by ops before their next transition
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "0005")
    entries = {
        # order: (status, [(action, from, to, at minute)])
        "o-esc": (
            "script_in_review",
            [
                ("submit_script", "script_pending", "script_in_review", 1),
                ("remind", "script_in_review", "script_in_review", 2),
                ("escalate", "script_in_review", "script_in_review", 3),
            ],
        ),
        "o-was": (
            "script_pending",
            [
                ("escalate", "script_in_review", "script_in_review", 1),
                ("review_script", "script_in_review", "script_pending", 2),
            ],
        ),
        "o-pub": (
            "published",
            [
                ("republish", "published", "published", 1),
                ("escalate", "published", "published", 2),
                ("review_publication", "published", "published", 3),
            ],
        ),
        "o-late": ("video_pending", [("overdue", "video_pending", "video_pending", 4)]),
    }
    with engine.begin() as conn:
        for order_id, (status, steps) in entries.items():
            conn.execute(
                text(
                    "INSERT INTO orders (id, client_id, creator_id, status, price_fen, fee_fen,"
                    " skip_script, retention_days, brief, next_actions, last_seq, created_at,"
                    " updated_at) VALUES (:id, 'c-1', 'k-1', :status, 100, 5, false, 30,"
                    " '{\"product\": \"tea\"}', '[]', :seq, :at, :at)"
                ),
                {"id": order_id, "status": status, "seq": len(steps), "at": T0},
            )
            for seq, (action, before, after, minute) in enumerate(steps, start=1):
                conn.execute(
                    text(
                        "INSERT INTO order_timeline (order_id, seq, at, actor_id, actor_role,"
                        " action, from_status, to_status) VALUES (:order_id, :seq, :at,"
                        " 'system', 'system', :action, :before, :after)"
                    ),
                    {
                        "order_id": order_id,
                        "seq": seq,
                        "at": T0 + minute * MINUTE,
                        "action": action,
                        "before": before,
                        "after": after,
                    },
                )
    command.upgrade(cfg, "head")
    flags = {
        order_id: (r["escalated"], r["overdue"], r["disputed"])
        for order_id in entries
        if (r := row(engine, order_id))
    }
    assert flags == {
        "o-esc": (True, False, False),
        "o-was": (False, False, False),
        "o-pub": (False, False, False),
        "o-late": (False, True, False),
    }
    assert row(engine, "o-esc")["submitted_for_review_at"] == T0 + MINUTE
    assert row(engine, "o-pub")["submitted_for_review_at"] == T0 + MINUTE
    assert row(engine, "o-late")["submitted_for_review_at"] is None
