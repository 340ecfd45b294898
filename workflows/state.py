"""OrderState: everything the order workflow knows, in one serialisable model (SPEC O, D).

The workflow changes it only under its lock; the query view is derived from it; the run
loop waits on `changes` and on the nearest time in `next_wake()`. Deadlines are data here:
moving or pausing one is an assignment, and the loop re-arms its one timer on its next turn.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from workflows.deadlines import ORDER_LEVEL, deadline_for
from workflows.messages import (
    EXIT_STATUSES,
    Action,
    CancellationProposal,
    Deadline,
    DeadlineKind,
    Dispute,
    Extension,
    OrderStatus,
    OrderTerms,
    Publication,
    Revisions,
    Role,
    Script,
    Timings,
    Video,
)

S = OrderStatus


class OrderState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: OrderTerms
    timings: Timings
    placed_at: datetime
    status: OrderStatus = S.PLACING
    seq: int = 0
    # Bumped by every change the run loop must see: an action, a deadline moved or paused.
    changes: int = 0
    # "<actor id> <request id>" -> the action it applied; replays answer without applying (A2).
    requests: dict[str, Action] = {}
    accepted_at: datetime | None = None
    scripts: list[Script] = []
    videos: list[Video] = []
    publications: list[Publication] = []
    video_public: bool | None = None
    delivery_accepted_at: datetime | None = None
    violation: str | None = None
    refusal: str | None = None
    placement_recorded: bool = False
    samples: int = 0
    next_check: datetime | None = None
    deadlines: list[Deadline] = []
    overdue: bool = False
    # A review left past its deadline (D2); see `escalated`.
    review_escalated: bool = False
    extension: Extension | None = None
    # The refund of the split the order was cancelled with (X1, X3): recorded before the split
    # moves, so that ops settling a workflow stopped in between divide the escrow as agreed.
    split_refund_fen: int | None = None
    # Ways out after acceptance (X1, X3): one proposal, one dispute at a time.
    proposal: CancellationProposal | None = None
    dispute: Dispute | None = None
    # What the search attributes say now, so only a change is upserted.
    deadline_attr: datetime | None = None
    escalated_attr: bool = False
    disputed_attr: bool = False

    # ------------------------------------------------------------------ status

    def enter(self, to: OrderStatus, now: datetime) -> None:
        """Move to `to`. A new status closes every deadline of the old one (and what hung on
        them: overdue, escalation, an extension request) and opens its own (D2). A proposal
        or a dispute lasts until the delivery is accepted or the order ends (X1, X3)."""
        self.changes += 1
        if to is self.status:
            return
        self.status = to
        lasting = to in EXIT_STATUSES
        self.deadlines = [d for d in self.deadlines if lasting and d.kind in ORDER_LEVEL]
        if not lasting:
            self.proposal = self.dispute = None
        self.overdue = self.review_escalated = False
        self.extension = None
        published = self.publications[-1].published_at if self.publications else None
        opened = deadline_for(to, self.terms, self.timings, now, self.placed_at, published)
        if opened is not None:
            self.deadlines.append(opened)

    @property
    def escalated(self) -> bool:
        """Flagged for ops (D2, X3): a review left past its deadline, or a dispute past its."""
        return self.review_escalated or (self.dispute is not None and self.dispute.escalated)

    @property
    def disputed(self) -> bool:
        """A dispute is open (X3): the order's deadlines are paused until ops resolve it; the
        projection and the `Disputed` search attribute show it."""
        return self.dispute is not None

    def revisions(self) -> Revisions:
        """X2: the client's own rejections, per phase; the reviewers' do not count."""
        allowed = self.terms.revision_rounds
        scripts = _client_rejections(self.scripts)
        videos = _client_rejections(self.videos)
        return Revisions(
            allowed=allowed,
            scripts_rejected=scripts,
            videos_rejected=videos,
            scripts_left=None if allowed is None else max(allowed - scripts, 0),
            videos_left=None if allowed is None else max(allowed - videos, 0),
        )

    @property
    def awaiting_review(self) -> bool:
        return bool(self.publications) and self.publications[-1].awaiting_review

    @property
    def retention_ends_at(self) -> datetime | None:
        if not self.publications:
            return None
        days = self.terms.retention_days * self.timings.retention_day
        return self.publications[-1].published_at + days

    @property
    def current_video_id(self) -> str | None:
        return self.publications[-1].video_id if self.publications else None

    # ------------------------------------------------------------------ deadlines as data

    def deadline(self, kind: DeadlineKind) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind is kind), None)

    def open(self, deadline: Deadline) -> None:
        self.close(deadline.kind)
        self.deadlines.append(deadline)

    def close(self, *kinds: DeadlineKind) -> None:
        self.deadlines = [d for d in self.deadlines if d.kind not in kinds]
        self.changes += 1

    def move(self, kind: DeadlineKind, due_at: datetime) -> Deadline:
        """Move a deadline (D4). Moved later, its reminders are written again (D3)."""
        current = self.deadline(kind)
        assert current is not None, kind
        update: dict[str, object] = {"due_at": due_at}
        if current.paused_remaining is not None:
            update["paused_remaining"] = due_at - current.due_at + current.paused_remaining
        if due_at > current.due_at:
            update["reminded"] = []
        moved = current.model_copy(update=update)
        self.deadlines = [moved if d.kind is kind else d for d in self.deadlines]
        self.changes += 1
        return moved

    def pause_deadlines(self, now: datetime) -> None:
        """D5: stop every clock of the order, keeping the time each had left, in whole seconds
        (what the API shows is an RFC 3339 duration, which has no fractions of a second)."""
        self.deadlines = [
            d
            if d.paused_remaining is not None
            else d.model_copy(update={"paused_remaining": _whole_seconds(d.due_at - now)})
            for d in self.deadlines
        ]
        self.changes += 1

    def resume_deadlines(self, now: datetime) -> None:
        """D5: the remaining time of each paused deadline runs on from now."""
        self.deadlines = [
            d
            if d.paused_remaining is None
            else d.model_copy(update={"due_at": now + d.paused_remaining, "paused_remaining": None})
            for d in self.deadlines
        ]
        self.changes += 1

    def main_deadline(self) -> Deadline | None:
        """The deadline of the order's status (or its grace), paused or not: what ops move.
        Not an answer awaited on an extension, a proposal or a dispute."""
        kinds = ORDER_LEVEL | {DeadlineKind.EXTENSION}
        return next((d for d in self.deadlines if d.kind not in kinds), None)

    def running(self) -> list[Deadline]:
        return [d for d in self.deadlines if d.paused_remaining is None]

    def first_due(self, now: datetime) -> Deadline | None:
        """The deadline to apply now: the earliest due, an extension request before the
        deadline it asked to move (it lapses first, D4)."""
        due = [d for d in self.running() if d.due_at <= now]
        due.sort(key=lambda d: (d.due_at, d.kind is not DeadlineKind.EXTENSION))
        return due[0] if due else None

    def reminders_due(self, now: datetime) -> list[tuple[Deadline, timedelta]]:
        """Reminders whose time has come, of deadlines not yet due, once each (D3). A reminder
        whose time was already past when its deadline opened is never written."""
        return [
            (d, offset)
            for d in self.running()
            if d.due_at > now
            for offset in d.reminders
            if offset not in d.reminded and d.opened_at <= d.due_at - offset <= now
        ]

    def mark_reminded(self, kind: DeadlineKind, offset: timedelta) -> None:
        current = self.deadline(kind)
        assert current is not None, kind
        reminded = current.model_copy(update={"reminded": [*current.reminded, offset]})
        self.deadlines = [reminded if d.kind is kind else d for d in self.deadlines]

    def next_wake(self) -> datetime | None:
        """The nearest time something is due: a deadline, a reminder, a check of the video."""
        times = [d.due_at for d in self.running()]
        times += [
            d.due_at - offset
            for d in self.running()
            for offset in d.reminders
            if offset not in d.reminded and d.due_at - offset >= d.opened_at
        ]
        if self.status in (S.PUBLISHED, S.IN_RETENTION) and self.next_check is not None:
            times.append(self.next_check)
        return min(times, default=None)

    def nearest_deadline(self) -> Deadline | None:
        return min(self.running(), key=lambda d: d.due_at, default=None)


def _client_rejections(items: list[Script] | list[Video]) -> int:
    return sum(
        1 for item in items for r in item.reviews if r.by.role is Role.CLIENT and not r.approved
    )


def _whole_seconds(left: timedelta) -> timedelta:
    # Rounded up: a pause never takes time from the party who must act.
    return timedelta(seconds=max(math.ceil(left.total_seconds()), 0))
