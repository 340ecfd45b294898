"""The deadline rules of D1-D3: which deadline each waiting status opens, when it falls due,
what happens then, and when its party is reminded. Pure functions of the order's terms and
timings, no I/O: the workflow keeps the deadlines as data (workflows/state.py), and placement
checks the brief's due dates here before anything is frozen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from workflows.messages import (
    Brief,
    Deadline,
    DeadlineKind,
    OrderStatus,
    OrderTerms,
    Outcome,
    Role,
    Timings,
)

S = OrderStatus
K = DeadlineKind


@dataclass(frozen=True)
class Rule:
    """One row of the D2 table."""

    kind: DeadlineKind
    party: Role
    outcome: Outcome
    # What the outcome does, in words, for the order's view and its projection row.
    at_deadline: str


RULES: dict[OrderStatus, Rule] = {
    S.AWAITING_ACCEPTANCE: Rule(
        K.ACCEPT,
        Role.CREATOR,
        Outcome.AUTO_CANCEL,
        "the order is cancelled and the client refunded in full",
    ),
    S.SCRIPT_PENDING: Rule(
        K.SCRIPT,
        Role.CREATOR,
        Outcome.OVERDUE,
        "the script is overdue: the client may cancel with a full refund",
    ),
    S.SCRIPT_IN_REVIEW: Rule(
        K.SCRIPT_REVIEW, Role.REVIEWER, Outcome.ESCALATE, "the review is escalated to ops"
    ),
    S.SCRIPT_AWAITING_CLIENT: Rule(
        K.SCRIPT_CONFIRM,
        Role.CLIENT,
        Outcome.AUTO_CONFIRM_SCRIPT,
        "the script is confirmed automatically",
    ),
    S.VIDEO_PENDING: Rule(
        K.VIDEO,
        Role.CREATOR,
        Outcome.OVERDUE,
        "the video is overdue: the client may cancel with a full refund",
    ),
    S.VIDEO_IN_REVIEW: Rule(
        K.VIDEO_REVIEW, Role.REVIEWER, Outcome.ESCALATE, "the review is escalated to ops"
    ),
    S.VIDEO_AWAITING_CLIENT: Rule(
        K.VIDEO_CONFIRM,
        Role.CLIENT,
        Outcome.AUTO_CONFIRM_VIDEO,
        "the video is confirmed automatically",
    ),
    S.AWAITING_PUBLISH: Rule(
        K.PUBLISH,
        Role.CLIENT,
        Outcome.AUTO_PUBLISH,
        "the video is published automatically on the creator's account",
    ),
    S.PUBLISHED: Rule(
        K.ACCEPTANCE,
        Role.CLIENT,
        Outcome.AUTO_ACCEPT,
        "the order is accepted automatically and the creator paid",
    ),
    S.IN_RETENTION: Rule(
        K.RETENTION,
        Role.SYSTEM,
        Outcome.RETENTION_END,
        "the retention period ends and the order completes",
    ),
}
GRACE = Rule(
    K.GRACE, Role.CREATOR, Outcome.GRACE_CANCEL, "the order is cancelled, the client refunded"
)
PUBLICATION_REVIEW = Rule(
    K.PUBLICATION_REVIEW, Role.REVIEWER, Outcome.ESCALATE, "the review is escalated to ops"
)
EXTENSION = Rule(K.EXTENSION, Role.CLIENT, Outcome.LAPSE_EXTENSION, "the request lapses")
# X1: the party who did not propose answers; the rule's party is replaced when it opens.
CANCELLATION = Rule(
    K.CANCELLATION, Role.CLIENT, Outcome.LAPSE_CANCELLATION, "the cancellation proposal lapses"
)
DISPUTE = Rule(
    K.DISPUTE, Role.OPS, Outcome.ESCALATE_DISPUTE, "the dispute is escalated again to ops"
)
BY_KIND: dict[DeadlineKind, Rule] = {
    rule.kind: rule
    for rule in (*RULES.values(), GRACE, PUBLICATION_REVIEW, EXTENSION, CANCELLATION, DISPUTE)
}
# Deadlines of the order rather than of its status: they outlive a change of status before
# the delivery is accepted, and a dispute's is the one clock that runs while it is open.
ORDER_LEVEL = frozenset({K.CANCELLATION, K.DISPUTE})


def open_deadline(
    rule: Rule, due_at: datetime, now: datetime, timings: Timings, party: Role | None = None
) -> Deadline:
    return Deadline(
        kind=rule.kind,
        party=party or rule.party,
        due_at=due_at,
        outcome=rule.outcome,
        opened_at=now,
        reminders=reminder_offsets(rule.kind, due_at - now, timings),
    )


def reminder_offsets(kind: DeadlineKind, length: timedelta, timings: Timings) -> list[timedelta]:
    """D3: the creator 2 h before the accept window closes; every other party 24 h before a
    deadline of 2 days or more, 2 h before a shorter one; nobody before the end of retention,
    nor ops before a dispute is escalated again (the escalation is their reminder)."""
    if kind in (K.RETENTION, K.DISPUTE):
        return []
    if kind is K.ACCEPT:
        return [timings.accept_reminder_before]
    if length >= timings.long_deadline:
        return [timings.reminder_before_long]
    return [timings.reminder_before_short]


def deadline_for(
    status: OrderStatus,
    terms: OrderTerms,
    timings: Timings,
    now: datetime,
    since: datetime,
    published_at: datetime | None,
) -> Deadline | None:
    """The deadline an order opens on entering `status` (D2). `since` is when the order was
    placed (the accept window runs from it)."""
    rule = RULES.get(status)
    if rule is None:
        return None
    due = _due(status, terms, timings, now, since, published_at)
    return open_deadline(rule, due, now, timings)


def _due(
    status: OrderStatus,
    terms: OrderTerms,
    timings: Timings,
    now: datetime,
    since: datetime,
    published_at: datetime | None,
) -> datetime:
    match status:
        case S.AWAITING_ACCEPTANCE:
            return since + timings.accept_window
        case S.SCRIPT_PENDING:
            return _creator_due(terms.brief.script_due, now, timings.script_due_after, timings)
        case S.VIDEO_PENDING:
            return _creator_due(video_due(terms.brief), now, timings.video_due_after, timings)
        case S.SCRIPT_IN_REVIEW | S.VIDEO_IN_REVIEW:
            return now + timings.review_within
        case S.SCRIPT_AWAITING_CLIENT | S.VIDEO_AWAITING_CLIENT:
            return now + timings.client_confirm_within
        case S.AWAITING_PUBLISH:
            return now + timings.publish_within
        case S.PUBLISHED:
            return (published_at or now) + timings.auto_accept_after
        case S.IN_RETENTION:
            return (published_at or now) + terms.retention_days * timings.retention_day
    raise ValueError(f"no deadline in {status}")


def _creator_due(
    brief_due: datetime | None, now: datetime, default: timedelta, timings: Timings
) -> datetime:
    """The brief's date while it still leaves the creator the minimum time; after a late
    acceptance or a rejection that it does not, the default time from now (D2)."""
    if brief_due is not None and brief_due - now >= timings.min_creator_time:
        return brief_due
    return now + default


def video_due(brief: Brief) -> datetime | None:
    if brief.video_due is not None:
        return brief.video_due
    if brief.due_date is not None:
        # A date without a time: the creator has the whole day, in the platform's time (UTC).
        return datetime.combine(brief.due_date, time.max, tzinfo=UTC)
    return None


def due_date_problem(brief: Brief, now: datetime, timings: Timings) -> str | None:
    """Why the brief's due dates cannot be taken at placement, or None (O1, D2): a date in the
    past, one that leaves the creator less than the minimum, one too far ahead, or a script
    due after the video."""
    dues = {"script_due": brief.script_due, "video_due": video_due(brief)}
    for name, due in dues.items():
        if due is None:
            continue
        if due.tzinfo is None:
            return f"{name} must say its time zone"
        if due <= now:
            return f"{name} {due.isoformat()} is in the past"
        if due - now < timings.min_creator_time:
            return (
                f"{name} {due.isoformat()} leaves the creator less than {timings.min_creator_time}"
            )
        if due - now > timings.max_due_ahead:
            return f"{name} {due.isoformat()} is more than {timings.max_due_ahead} ahead"
    script, video = dues["script_due"], dues["video_due"]
    if script is not None and video is not None and script >= video:
        return "script_due must come before video_due"
    return None
