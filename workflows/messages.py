"""Inputs, outputs and statuses of OrderWorkflow: plain pydantic models, no I/O.

Shared by the workflow, the activities, the service layer and the API, so a status or an
action has one spelling everywhere.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A script's length, in characters (the pre-review's standalone route takes as much).
TEXT_MAX_LENGTH = 5000
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX_LENGTH)
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Product = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    CLIENT = "client"
    CREATOR = "creator"
    MCN = "mcn"
    REVIEWER = "reviewer"
    OPS = "ops"
    SYSTEM = "system"


class OrderStatus(StrEnum):
    PLACING = "placing"
    REFUSED = "refused"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    SCRIPT_PENDING = "script_pending"
    SCRIPT_IN_REVIEW = "script_in_review"
    SCRIPT_AWAITING_CLIENT = "script_awaiting_client"
    VIDEO_PENDING = "video_pending"
    VIDEO_IN_REVIEW = "video_in_review"
    VIDEO_AWAITING_CLIENT = "video_awaiting_client"
    AWAITING_PUBLISH = "awaiting_publish"
    PUBLISHED = "published"
    IN_RETENTION = "in_retention"
    COMPLETED = "completed"
    COMPLETED_WITH_VIOLATION = "completed_with_violation"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        OrderStatus.REFUSED,
        OrderStatus.COMPLETED,
        OrderStatus.COMPLETED_WITH_VIOLATION,
        OrderStatus.CANCELLED,
    }
)


# After acceptance and before the delivery is accepted: where the parties can still leave an
# order, by agreement or by dispute (X1, X3), and its proposals and disputes outlive a status.
EXIT_STATUSES = frozenset(
    {
        OrderStatus.SCRIPT_PENDING,
        OrderStatus.SCRIPT_IN_REVIEW,
        OrderStatus.SCRIPT_AWAITING_CLIENT,
        OrderStatus.VIDEO_PENDING,
        OrderStatus.VIDEO_IN_REVIEW,
        OrderStatus.VIDEO_AWAITING_CLIENT,
        OrderStatus.AWAITING_PUBLISH,
        OrderStatus.PUBLISHED,
    }
)


class Action(StrEnum):
    """Everything that moves an order. User actions are workflow Updates of the same name."""

    PLACE = "place"
    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    SUBMIT_SCRIPT = "submit_script"
    REVIEW_SCRIPT = "review_script"
    CONFIRM_SCRIPT = "confirm_script"
    REJECT_SCRIPT = "reject_script"
    SUBMIT_VIDEO = "submit_video"
    REVIEW_VIDEO = "review_video"
    CONFIRM_VIDEO = "confirm_video"
    REJECT_VIDEO = "reject_video"
    PUBLISH = "publish"
    REPUBLISH = "republish"
    REVIEW_PUBLICATION = "review_publication"
    ACCEPT_DELIVERY = "accept_delivery"
    # Deadlines (D2, D4): the client's way out of a late delivery, extensions, ops moving one.
    CANCEL_OVERDUE = "cancel_overdue"
    REQUEST_EXTENSION = "request_extension"
    ANSWER_EXTENSION = "answer_extension"
    MOVE_DEADLINE = "move_deadline"
    # Ways out after acceptance (X1, X3, P2): by agreement, by dispute, by ops.
    PROPOSE_CANCELLATION = "propose_cancellation"
    ANSWER_CANCELLATION = "answer_cancellation"
    OPEN_DISPUTE = "open_dispute"
    RESOLVE_DISPUTE = "resolve_dispute"
    # Done by the system: timers, the video platform, the ledger.
    REFUSE = "refuse"
    AUTO_CANCEL = "auto_cancel"
    AUTO_ACCEPT = "auto_accept"
    AUTO_CONFIRM_SCRIPT = "auto_confirm_script"
    AUTO_CONFIRM_VIDEO = "auto_confirm_video"
    AUTO_PUBLISH = "auto_publish"
    OVERDUE = "overdue"
    OVERDUE_CANCEL = "overdue_cancel"
    ESCALATE = "escalate"
    REMIND = "remind"
    EXTENSION_LAPSED = "extension_lapsed"
    CANCELLATION_LAPSED = "cancellation_lapsed"
    VIDEO_REMOVED = "video_removed"
    RETENTION_VIOLATED = "retention_violated"
    RETENTION_ENDED = "retention_ended"
    # Ops cancel with a full refund (P2): through the API, by a cancellation requested in
    # Temporal (the Web UI's button, `temporal workflow cancel`), or by settling an order whose
    # workflow was stopped.
    OPS_CANCEL = "ops_cancel"
    # Ops settled an order whose workflow stopped after its delivery was accepted.
    OPS_SETTLE = "ops_settle"
    CANCEL_REFUSED = "cancel_refused"
    # A settlement found the escrow already settled the other way (a workflow reset to a
    # point before an ops settlement): the money stays where it went.
    ESCROW_ALREADY_SETTLED = "escrow_already_settled"


class Actor(Model):
    id: Id
    role: Role


SYSTEM = Actor(id="system", role=Role.SYSTEM)
# Ops acting in Temporal itself: the workflow is not told who pressed the button.
OPS_IN_TEMPORAL = Actor(id="ops-temporal", role=Role.OPS)
# Ops settling stopped orders with `python -m scripts.admin stranded-orders --settle`.
OPS_ADMIN = Actor(id="ops-admin", role=Role.OPS)


class Timings(Model):
    """Every duration of the lifecycle, taken from settings at placement (rule B4)."""

    accept_window: timedelta = timedelta(hours=24)
    auto_accept_after: timedelta = timedelta(days=7)
    retention_day: timedelta = timedelta(days=1)
    # How often the published video is checked: its numbers recorded (O11) and, during
    # retention, that it is still public (O9).
    video_check_every: timedelta = timedelta(days=1)
    # The deadlines of D2. Orders placed before them replay with these defaults, unused.
    script_due_after: timedelta = timedelta(days=3)
    video_due_after: timedelta = timedelta(days=7)
    overdue_grace: timedelta = timedelta(days=7)
    review_within: timedelta = timedelta(hours=24)
    client_confirm_within: timedelta = timedelta(days=3)
    publish_within: timedelta = timedelta(days=3)
    # Reminders (D3): the creator this long before the accept window closes; every other
    # party the long offset before a deadline at least `long_deadline` away, else the short.
    accept_reminder_before: timedelta = timedelta(hours=2)
    reminder_before_long: timedelta = timedelta(hours=24)
    reminder_before_short: timedelta = timedelta(hours=2)
    long_deadline: timedelta = timedelta(days=2)
    # The least time a due date of the brief must leave the creator, and how far ahead it
    # may be (O1, D2); checked at placement.
    min_creator_time: timedelta = timedelta(days=1)
    max_due_ahead: timedelta = timedelta(days=365)
    # A cancellation proposal nobody answers lapses (X1); a dispute ops leave unresolved is
    # escalated again (X3).
    proposal_lapses_after: timedelta = timedelta(hours=48)
    dispute_escalates_after: timedelta = timedelta(days=3)


class Brief(Model):
    product: Product
    requirements: Text
    # The video's due date (O1); `video_due` says it to the minute and wins.
    due_date: date | None = None
    # When the creator must deliver the script and the video (D2); else the defaults of Timings.
    script_due: datetime | None = None
    video_due: datetime | None = None


class OrderTerms(Model):
    """What the client agreed to at placement; fixed for the life of the order."""

    order_id: Id
    client_id: Id
    creator_id: Id
    # The creator's MCN at placement: the price is paid to it instead of the creator (rule O8).
    mcn_id: Id | None = None
    # The creator's Xigua account at placement: videos of the order must be on it.
    creator_xigua_account: Id | None = None
    price_fen: int = Field(gt=0)
    fee_fen: int = Field(ge=0)
    brief: Brief
    skip_script: bool = False
    retention_days: int = Field(default=30, ge=30, le=3650)
    # How many scripts and how many videos the client may reject (X2); None for orders placed
    # before the rule, which keep no cap.
    revision_rounds: int | None = Field(default=None, ge=0, le=100)

    @property
    def total_fen(self) -> int:
        return self.price_fen + self.fee_fen


def is_stranger(actor: Actor, client_id: str, creator_id: str) -> bool:
    """A client or creator other than the order's own: to them the order does not exist."""
    party = {Role.CLIENT: client_id, Role.CREATOR: creator_id}.get(actor.role)
    return party is not None and actor.id != party


class OrderInput(Model):
    terms: OrderTerms
    timings: Timings = Timings()


# --- Action inputs: every update carries the acting user and the caller's request id. ---


class ActionInput(Model):
    actor: Actor
    # Re-sending an action with the same request id returns its first result (rule A2).
    request_id: Id


class ReasonInput(ActionInput):
    reason: Reason


class ExtensionInput(ActionInput):
    """The creator asks the client for more time on the deadline it faces (D4)."""

    due_at: datetime
    reason: Reason


class ExtensionAnswer(ActionInput):
    grant: bool
    reason: Reason | None = None


class MoveDeadlineInput(ActionInput):
    """Ops move the order's current deadline (D4, P2), always with a reason."""

    due_at: datetime
    reason: Reason


class CancellationProposalInput(ActionInput):
    """X1: cancel by agreement, `refund_fen` of the price back to the client, the rest paid."""

    refund_fen: int = Field(ge=0)
    reason: Reason


class CancellationAnswer(ActionInput):
    agree: bool
    reason: Reason | None = None


class Resolution(StrEnum):
    """How ops end a dispute (X3)."""

    # The order runs on from where it stood, its deadlines with the time they had left.
    CONTINUE = "continue"
    # Cancelled, the escrow divided as `refund_fen` says (X4).
    CANCEL = "cancel"
    # The delivery accepted: the creator paid in full, retention as usual.
    ACCEPT_DELIVERY = "accept_delivery"


class ResolveDisputeInput(ActionInput):
    resolution: Resolution
    reason: Reason
    # With `cancel`: the fen of the price refunded to the client.
    refund_fen: int | None = Field(default=None, ge=0)
    # With `continue`: a new date for the order's current deadline, instead of its time left.
    due_at: datetime | None = None


class ReviewInput(ActionInput):
    approve: bool
    reason: Reason | None = None


class PublicationReviewInput(ReviewInput):
    # The video the reviewer looked at: a review of an earlier publication must not pass the
    # one republished since (O10). Optional only for histories recorded before it existed;
    # the API always sends it.
    video_id: Id | None = None


class ScriptInput(ActionInput):
    text: Text


class VideoInput(ActionInput):
    video_id: Id


# --- What the workflow tells about itself. ---


class NextStep(Model):
    """Who must act next, what they may do, by when, and what happens at that deadline."""

    actor: Role
    actions: list[Action]
    deadline: datetime | None = None
    at_deadline: str | None = None
    outcome: Outcome | None = None


class DeadlineKind(StrEnum):
    ACCEPT = "accept"
    SCRIPT = "script"
    SCRIPT_REVIEW = "script_review"
    SCRIPT_CONFIRM = "script_confirm"
    VIDEO = "video"
    VIDEO_REVIEW = "video_review"
    VIDEO_CONFIRM = "video_confirm"
    PUBLISH = "publish"
    PUBLICATION_REVIEW = "publication_review"
    ACCEPTANCE = "acceptance"
    RETENTION = "retention"
    # After an overdue delivery: the grace before the order is cancelled (D2).
    GRACE = "grace"
    # The client's answer to an extension request: it lapses at the deadline it asks to move.
    EXTENSION = "extension"
    # The other party's answer to a cancellation proposal (X1); it lapses then.
    CANCELLATION = "cancellation"
    # Ops' resolution of a dispute (X3): escalated again then. Never paused.
    DISPUTE = "dispute"


class Outcome(StrEnum):
    """What the system does when a deadline passes with nobody acting (D2)."""

    AUTO_CANCEL = "auto_cancel"
    OVERDUE = "overdue"
    GRACE_CANCEL = "grace_cancel"
    ESCALATE = "escalate"
    AUTO_CONFIRM_SCRIPT = "auto_confirm_script"
    AUTO_CONFIRM_VIDEO = "auto_confirm_video"
    AUTO_PUBLISH = "auto_publish"
    AUTO_ACCEPT = "auto_accept"
    RETENTION_END = "retention_end"
    LAPSE_EXTENSION = "lapse_extension"
    LAPSE_CANCELLATION = "lapse_cancellation"
    ESCALATE_DISPUTE = "escalate_dispute"


class Deadline(Model):
    """One open deadline of an order: data, so it can be moved or paused while it runs (D1)."""

    kind: DeadlineKind
    # Who must act before it; the system for the end of retention, where nobody must.
    party: Role
    due_at: datetime
    outcome: Outcome
    opened_at: datetime
    # Reminders (D3), as offsets before due_at, and those already written.
    reminders: list[timedelta] = []
    reminded: list[timedelta] = []
    # Set while paused (D5): the time that was left, which runs on at resume.
    paused_remaining: timedelta | None = None


class Extension(Model):
    """An extension request awaiting the client's answer (D4)."""

    kind: DeadlineKind
    due_at: datetime
    reason: str
    asked_at: datetime


class CancellationProposal(Model):
    """A proposal to cancel by agreement awaiting the other party's answer (X1)."""

    by: Actor
    refund_fen: int
    reason: str
    proposed_at: datetime


class Dispute(Model):
    """An open dispute (X3): the order's deadlines are paused until ops resolve it."""

    by: Actor
    reason: str
    opened_at: datetime
    # Left unresolved past its deadline: escalated again to ops.
    escalated: bool = False


class Revisions(Model):
    """The client's rejections so far and how many remain, per phase (X2)."""

    allowed: int | None
    scripts_rejected: int
    videos_rejected: int
    scripts_left: int | None
    videos_left: int | None


class Review(Model):
    by: Actor
    at: datetime
    approved: bool
    reason: str | None = None


class Script(Model):
    version: int
    text: str
    submitted_at: datetime
    reviews: list[Review] = []


class Video(Model):
    version: int
    video_id: str
    submitted_at: datetime
    reviews: list[Review] = []


class Publication(Model):
    video_id: str
    published_at: datetime
    # A republished video was never reviewed before going public: it is reviewed after (O10).
    review_required: bool = False
    reviews: list[Review] = []

    @property
    def awaiting_review(self) -> bool:
        return self.review_required and not self.reviews


class OrderView(Model):
    terms: OrderTerms
    status: OrderStatus
    next: list[NextStep]
    placed_at: datetime
    accepted_at: datetime | None = None
    scripts: list[Script] = []
    videos: list[Video] = []
    publications: list[Publication] = []
    delivery_accepted_at: datetime | None = None
    retention_ends_at: datetime | None = None
    video_public: bool | None = None
    violation: str | None = None
    refusal: str | None = None
    # Deadlines (D1-D5); absent from orders of the workflow before them.
    deadlines: list[Deadline] = []
    overdue: bool = False
    escalated: bool = False
    extension: Extension | None = None
    # Ways out (X1-X3).
    proposal: CancellationProposal | None = None
    dispute: Dispute | None = None
    disputed: bool = False
    revisions: Revisions | None = None
    # Every action open now and the roles that may take it ("may act", wider than `next`,
    # which leaves ops out unless the order waits for them); absent from the old type's views.
    allowed: dict[Action, list[Role]] = {}


class Transition(Model):
    """One recorded move of an order: the projection and timeline row written for it (A4)."""

    order_id: str
    seq: int
    at: datetime
    actor: Actor
    action: Action
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str | None = None


class Notification(Model):
    recipient: str
    kind: str
    body: str


class ProjectionWrite(Model):
    """Everything one transition writes to the app database, in one transaction."""

    transition: Transition
    terms: OrderTerms
    placed_at: datetime
    next: list[NextStep]
    notifications: list[Notification] = []
    # What ops filter on (P1): a review past its deadline, an open dispute, a late delivery.
    # Written with every transition, so a flag that changes at a timer (escalation, overdue)
    # reaches the row with the transition that changed it. Orders of the old type, which has
    # none of these, write the defaults.
    escalated: bool = False
    disputed: bool = False
    overdue: bool = False
    # The refund of the split the order is cancelled with (X1, X3), written with the
    # cancellation, so that ops settling a workflow stopped before the split moved divide the
    # escrow as agreed (services/stranded.py).
    split_refund_fen: int | None = None


class SplitSettlement(Model):
    """X4: the order's escrow divided, `refund_fen` of the price back to the client."""

    terms: OrderTerms
    refund_fen: int = Field(ge=0)


class PublishRequest(Model):
    order_id: str
    video_id: str


class LinkVideoRequest(Model):
    order_id: str
    video_id: str
    xigua_account: str | None


class TakeDownRequest(Model):
    order_id: str
    video_id: str
    reason: str


class StatsRequest(Model):
    order_id: str
    video_id: str
    # The sample's number within the order: what makes a retried collection write once.
    sample: int
    # The order's time of the check (workflow time, also right when time is skipped in tests).
    at: datetime


class VideoSample(Model):
    public: bool
    plays: int
    likes: int
    comments: int
    shares: int
    completion_rate: float


class CreditPenalty(Model):
    order_id: str
    creator_id: str
    reason: str


class WithdrawalInput(Model):
    withdrawal_id: Id
    user_id: Id
    account_id: str
    amount_fen: int = Field(gt=0)
    bank_account: str


class PayoutOutcome(Model):
    succeeded: bool
    reference: str | None = None
    failure: str | None = None


class WithdrawalResult(Model):
    withdrawal_id: str
    succeeded: bool
    failure: str | None = None


class VideoRemoved(Model):
    """Signal from the video-platform adapter: the video went private or was deleted."""

    video_id: str
    reason: str = "the video was removed from the platform"


class OrderResult(Model):
    order_id: str
    status: OrderStatus
    violation: str | None = None
