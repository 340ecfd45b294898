"""Request and response bodies. Inputs forbid unknown fields: nobody sets a status or a price
(a client may only state the price it saw, to be checked against the quote)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from adapters.video_platform import LoginPlatform
from services import usernames
from services.prereview import PreReview, ReviewedText, review
from workflows.bounds import (
    Category,
    Count,
    DisplayName,
    Explanation,
    PaymentFen,
    ProductName,
    Prose,
    RefundFen,
    RevisionRounds,
    no_control,
    one_line,
    prose,
)
from workflows.messages import (
    TEXT_MAX_LENGTH,
    Action,
    CancellationProposal,
    Deadline,
    Dispute,
    Extension,
    Id,
    NextStep,
    OrderStatus,
    OrderView,
    Publication,
    Resolution,
    Revisions,
    Role,
    Script,
    Video,
)

# Folded and checked in services/usernames.py, the one place sign-up, login and the limiter share.
Username = Annotated[
    str,
    StringConstraints(max_length=usernames.MAX_INPUT_LENGTH),
    AfterValidator(usernames.canonical),
    Field(description=f"{usernames.ALLOWED_DESCRIPTION}; stored in lower case"),
]
Password = Annotated[
    str, StringConstraints(min_length=8, max_length=200), AfterValidator(no_control)
]
VideoId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- identity ---


class SignUp(Input):
    username: Username
    password: Password
    role: Literal[Role.CLIENT, Role.CREATOR, Role.MCN]
    display_name: DisplayName


class UserPublic(BaseModel):
    id: str
    username: str | None
    role: Role
    display_name: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


# --- orders ---


class PlaceOrderRequest(Input):
    creator_id: Id
    product: ProductName
    requirements: Prose
    due_date: date | None = None
    script_due: AwareDatetime | None = Field(
        default=None,
        description="when the creator must deliver the script (rule D2); at least the configured "
        "minimum ahead, else the order is refused (422)",
    )
    video_due: AwareDatetime | None = Field(
        default=None, description="when the creator must deliver the video (D2); wins over due_date"
    )
    skip_script: bool = False
    retention_days: int = Field(default=30, ge=30, le=3650)
    revision_rounds: RevisionRounds | None = Field(
        default=None,
        description="how many scripts and how many videos you may reject (rule X2); the "
        "platform's default if absent, within the bounds it sets (else 422)",
    )
    price_fen: int | None = Field(
        default=None,
        gt=0,
        le=100_000_000,
        strict=True,
        description="the creator's quote as the client saw it; if the quote has changed since, "
        "the order is refused (409) and nothing is frozen",
    )


class ReasonBody(Input):
    reason: Explanation


class ReviewBody(Input):
    approve: bool
    reason: Explanation | None = Field(default=None, description="required when approve is false")


class PublicationReviewBody(ReviewBody):
    video_id: VideoId = Field(description="the republished video you reviewed")


class ScriptBody(Input):
    text: Prose


class VideoBody(Input):
    video_id: VideoId


class ExtensionBody(Input):
    due_at: AwareDatetime = Field(description="the new due date asked for (rule D4)")
    reason: Explanation


class ExtensionAnswerBody(Input):
    grant: bool
    reason: Explanation | None = None


class MoveDeadlineBody(Input):
    due_at: AwareDatetime = Field(description="the current deadline's new date (rules D4, P2)")
    reason: Explanation


class CancellationProposalBody(Input):
    refund_fen: RefundFen = Field(
        description="fen of the price refunded to the client, 0 to the price; the rest is paid "
        "to the creator (or its MCN), and the client gets the fee back in proportion, rounded "
        "down (rules X1, X4)"
    )
    reason: Explanation


class CancellationAnswerBody(Input):
    agree: bool
    reason: Explanation | None = None


class ResolveDisputeBody(Input):
    resolution: Resolution = Field(
        description="continue: the order runs on, its deadlines with the time they had left; "
        "cancel: cancelled, the escrow divided by refund_fen (X4); accept_delivery: the "
        "published video accepted and the creator paid in full (rule X3)"
    )
    reason: Explanation
    refund_fen: RefundFen | None = Field(
        default=None, description="with cancel only: fen of the price back to the client"
    )
    due_at: AwareDatetime | None = Field(
        default=None,
        description="with continue only: a new date for the order's current deadline",
    )


class ScriptPublic(Script):
    pre_review: PreReview = Field(
        description="what the machine pre-review (B2) finds in `text`: terms of the ad-law list, "
        "with their positions in `text`; computed from the text when answering, with the list "
        "in use then (its version is given)"
    )


class BriefPublic(BaseModel):
    product: str
    requirements: str
    due_date: date | None
    script_due: datetime | None = None
    video_due: datetime | None = None


def your_actions(view: OrderView, role: Role) -> list[Action]:
    """What `role` may do on the order now: ops included, who may act on any open order (P2)
    though the order rarely waits for them. Views of the old workflow type carry only `next`."""
    if view.allowed:
        return [action for action, roles in view.allowed.items() if role in roles]
    return [action for step in view.next if step.actor is role for action in step.actions]


class OrderPublic(BaseModel):
    """An order as its parties see it; `your_actions` are what the caller may do now."""

    id: str
    status: OrderStatus
    client_id: str
    creator_id: str
    price_fen: int
    fee_fen: int
    total_fen: int
    brief: BriefPublic
    skip_script: bool
    retention_days: int
    placed_at: datetime
    next: list[NextStep]
    your_actions: list[Action]
    accepted_at: datetime | None
    scripts: list[ScriptPublic]
    videos: list[Video]
    publications: list[Publication]
    delivery_accepted_at: datetime | None
    retention_ends_at: datetime | None
    video_public: bool | None
    violation: str | None
    refusal: str | None
    # Deadlines (D1-D5): who must act by when, and what happens then, as data.
    deadlines: list[Deadline] = []
    overdue: bool = False
    escalated: bool = False
    extension: Extension | None = None
    # Ways out (X1-X3): an open cancellation proposal, an open dispute, the rejections left.
    proposal: CancellationProposal | None = None
    dispute: Dispute | None = None
    disputed: bool = False
    revisions: Revisions | None = None

    @classmethod
    def from_view(cls, view: OrderView, role: Role) -> OrderPublic:
        t = view.terms
        return cls(
            id=t.order_id,
            status=view.status,
            client_id=t.client_id,
            creator_id=t.creator_id,
            price_fen=t.price_fen,
            fee_fen=t.fee_fen,
            total_fen=t.total_fen,
            brief=BriefPublic(**t.brief.model_dump()),
            skip_script=t.skip_script,
            retention_days=t.retention_days,
            placed_at=view.placed_at,
            next=view.next,
            your_actions=your_actions(view, role),
            accepted_at=view.accepted_at,
            scripts=[
                ScriptPublic(**s.model_dump(), pre_review=review(s.text)) for s in view.scripts
            ],
            videos=view.videos,
            publications=view.publications,
            delivery_accepted_at=view.delivery_accepted_at,
            retention_ends_at=view.retention_ends_at,
            video_public=view.video_public,
            violation=view.violation,
            refusal=view.refusal,
            deadlines=view.deadlines,
            overdue=view.overdue,
            escalated=view.escalated,
            extension=view.extension,
            proposal=view.proposal,
            dispute=view.dispute,
            disputed=view.disputed,
            revisions=view.revisions,
        )


class OrderSummary(BaseModel):
    id: str
    status: OrderStatus
    client_id: str
    creator_id: str
    price_fen: int
    fee_fen: int
    product: str
    next_actor: Role | None
    deadline: datetime | None
    at_deadline: str | None
    created_at: datetime
    updated_at: datetime
    escalated: bool = Field(description="a review is past its deadline: ops must see to it (D2)")
    disputed: bool = Field(description="a dispute is open, waiting for ops (X3)")
    overdue: bool = Field(
        description="the creator's delivery is past its due date: the client may cancel (D2)"
    )


class OrderPage(BaseModel):
    items: list[OrderSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class TimelineEntryPublic(BaseModel):
    seq: int
    at: datetime
    actor_id: str
    actor_role: Role
    action: Action
    from_status: OrderStatus | None
    to_status: OrderStatus
    reason: str | None


ReviewKind = Literal["script", "video", "publication"]


class ReviewItem(BaseModel):
    order_id: str
    kind: ReviewKind
    waiting_since: datetime = Field(
        description="when the script, video or republished video was handed in for review"
    )
    waiting_seconds: int = Field(description="how long it has waited, in whole seconds")
    review_due: datetime | None = Field(
        description="the review's deadline while it runs (the order's, as configured when it "
        "was placed; ops may have moved it); null once it has passed and been escalated"
    )
    late: bool = Field(description="past its review deadline (D2)")
    escalated: bool = Field(description="past its deadline and escalated to ops (D2)")
    creator_id: str
    product: str
    texts: list[ReviewedText] = Field(
        default=[],
        description="what waits for review, as text: the script; or the video's title and "
        "description where the platform gives them; each with its machine pre-review (B2)",
    )


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class FieldError(BaseModel):
    """One field of a malformed request: where it is and what is wrong with it."""

    loc: list[str | int] = Field(description='where: ["body", "price_fen"], ["query", "limit"]')
    msg: str
    type: str = Field(description="the kind of mistake, as pydantic names it")


class Problem(BaseModel):
    """Every error, RFC 9457 problem details (application/problem+json). `type` says which kind
    of problem it is, for programs; `detail` says what happened, for people."""

    type: str = Field(
        description="urn:xigua-tasks:problem:<Kind> (InvalidState, Forbidden, NotFound, "
        "InvalidInput, Conflict, ...), or about:blank for a bare HTTP status"
    )
    title: str = Field(description="the kind of problem, in a few words")
    status: int = Field(ge=100, le=599)
    detail: str = Field(description="what happened this time and, where it helps, what to do")
    instance: str | None = Field(description="the path that was asked for")
    errors: list[FieldError] | None = Field(
        default=None, description="on a malformed request (422): one entry per field"
    )
    order_id: str | None = Field(
        default=None,
        description="on a 503 from an order route: the order the request went to, which it "
        "may still change (see the detail for how to learn the outcome)",
    )
    pre_review: PreReview | None = Field(
        default=None,
        description="on a 422 AdLawTerms (a script upload in refuse mode): the terms found, "
        "with their positions in the script as it would have been stored",
    )


class PreReviewBody(Input):
    text: Annotated[
        str,
        StringConstraints(min_length=1, max_length=TEXT_MAX_LENGTH),
        AfterValidator(prose),
        Field(
            description="the text as it will be sent, not trimmed: positions count in it (line "
            "feeds only, as a browser's textarea value has them: a CR is refused)"
        ),
    ]


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that may answer these error statuses, each a Problem."""
    return {code: {"model": Problem} for code in codes}


class Health(BaseModel):
    status: Literal["ok"]


# --- creators ---

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^1[3-9][0-9]{9}$")]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$"
    ),
    AfterValidator(no_control),
]
AccountId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
]


class ContactBody(Input):
    phone: Phone = Field(description="mainland mobile number, 11 digits")
    email: Email


class BindAccountBody(Input):
    login_platform: LoginPlatform
    login_account: AccountId
    xigua_account_id: AccountId


class QuoteBody(Input):
    quote_fen: PaymentFen


class AcceptingBody(Input):
    accepting: bool


class JoinMcnBody(Input):
    mcn_id: AccountId


class McnRequestPublic(BaseModel):
    """A creator's request to join an MCN (C7), as both sides see it."""

    id: str
    creator_id: str
    creator_name: str
    mcn_id: str
    mcn_name: str
    status: Literal["pending", "accepted", "refused", "withdrawn"]
    created_at: datetime
    decided_at: datetime | None


class CheckPublic(BaseModel):
    condition: str
    passed: bool
    measured: int | bool
    threshold: int | bool


class ApplicationPublic(BaseModel):
    approved: bool
    checks: list[CheckPublic]
    unmet: list[CheckPublic]


class CreatorProfile(BaseModel):
    """The creator's own view of its profile (its own contact details included)."""

    id: str
    display_name: str
    xigua_account_id: str | None
    task_opened: bool
    quote_fen: int | None
    accepting_orders: bool
    mcn_id: str | None
    phone: str | None
    email: str | None
    fans: int
    avg_plays: int
    category: str | None
    credit_score: int
    orderable: bool
    not_orderable_because: list[str]


class CreatorCard(BaseModel):
    """A creator in the square: what a client chooses by, never how to reach them."""

    id: str
    display_name: str
    quote_fen: int
    fans: int
    avg_plays: int
    category: str | None
    credit_score: int
    in_mcn: bool


class CreatorPage(BaseModel):
    items: list[CreatorCard]
    next_cursor: str | None


class PriceQuote(BaseModel):
    """What ordering a creator costs now (O1): its quote, the service fee on top, and the total
    that placing freezes from the client's wallet."""

    creator_id: str
    price_fen: int
    fee_fen: int
    total_fen: int


# --- wallets ---


class TopUpBody(Input):
    amount_fen: PaymentFen


class WithdrawalBody(Input):
    amount_fen: PaymentFen
    bank_account: Annotated[str, StringConstraints(pattern=r"^[0-9]{12,30}$")]


class PaymentPublic(BaseModel):
    id: str
    kind: Literal["top_up", "withdrawal"]
    amount_fen: int
    status: Literal["pending", "succeeded", "failed"]
    failure: str | None
    created_at: datetime
    updated_at: datetime


class Wallet(BaseModel):
    account: str
    balance_fen: int


class StatementLinePublic(BaseModel):
    entry_id: int
    at: datetime
    kind: str
    amount_fen: int
    order_id: str | None


class StatementPage(BaseModel):
    items: list[StatementLinePublic]
    next_cursor: str | None


class CreatorEarningsPublic(BaseModel):
    creator_id: str
    orders: int
    earned_fen: int


# --- order extras ---


class ContactPublic(BaseModel):
    """The number that forwards to the other side of the order (never their real one)."""

    order_id: str
    counterpart_role: Role
    virtual_number: str


class SamplePublic(BaseModel):
    at: datetime
    video_id: str
    public: bool
    plays: int
    likes: int
    comments: int
    shares: int
    completion_rate: float


class MarketingData(BaseModel):
    order_id: str
    cost_fen: int = Field(description="what the client paid: price plus service fee")
    samples: list[SamplePublic]
    plays: int
    engagements: int
    cpm_fen: int | None = Field(description="cost per thousand plays")
    cpe_fen: int | None = Field(description="cost per engagement (like, comment, share)")


# --- the video-platform simulator ---


class EngagementBody(Input):
    plays: Count = 0
    likes: Count = 0
    comments: Count = 0
    shares: Count = 0
    completion_rate: float | None = Field(default=None, ge=0, le=1)


class AccountMetricsBody(Input):
    fans_toutiao: Count
    fans_xigua: Count
    unhealthy: bool = False
    original: bool = True
    category: Category | None = None
    recent_plays: list[Count] = Field(max_length=100)


class SimulatedVideoBody(Input):
    """A video its creator uploads to a Xigua account, with what the pre-review reads (B2)."""

    xigua_account_id: AccountId
    title: Annotated[str, StringConstraints(max_length=200), AfterValidator(one_line)] | None = None
    description: Prose | None = None


class SimulatedAccountBody(AccountMetricsBody):
    """An account on the simulated platform: its numbers and who it belongs to (C1)."""

    login_platform: LoginPlatform
    login_account: AccountId


# --- notifications (N1) and webhooks (N2) ---


class NotificationPublic(BaseModel):
    id: int
    event_id: str = Field(description="stable for this notification on every channel")
    kind: str
    title: str
    body: str
    order_id: str
    created_at: datetime
    read_at: datetime | None = Field(description="when you marked it read; null while unread")


class NotificationPage(BaseModel):
    items: list[NotificationPublic]
    unread_count: int = Field(description="unread notifications in your whole inbox")
    next_cursor: str | None = Field(description="pass as cursor for the next (older) page")


class ReadAll(BaseModel):
    marked: int = Field(description="how many were unread and are now read")
    unread_count: int


WebhookUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    AfterValidator(no_control),
    Field(
        description="https:// (plain http:// only to a loopback address, in development); "
        "never a private, link-local or other non-public address"
    ),
]


class WebhookBody(Input):
    url: WebhookUrl


class WebhookPublic(BaseModel):
    id: str
    url: str
    created_at: datetime
    secret_rotated_at: datetime | None


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="signs every delivery; shown only now, keep it safe")


class WebhookAttemptPublic(BaseModel):
    id: int
    event_id: str
    notification_id: int
    kind: str
    attempt: int = Field(description="1 for the first try of this event, then 2, 3, ...")
    at: datetime
    outcome: Literal["delivered", "retrying", "failed", "cancelled"]
    status_code: int | None = Field(description="the endpoint's HTTP status, if it answered")
    error: str | None


class WebhookAttemptPage(BaseModel):
    items: list[WebhookAttemptPublic]
    next_cursor: str | None
