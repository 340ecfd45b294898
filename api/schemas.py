"""Request and response bodies. Inputs forbid unknown fields: nobody sets a status or a price."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workflows.messages import (
    Action,
    NextStep,
    OrderStatus,
    OrderView,
    Publication,
    Reason,
    Role,
    Script,
    Text,
    Video,
)

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
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
    display_name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
    ]


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
    creator_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    product: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    requirements: Text
    due_date: date | None = None
    skip_script: bool = False
    retention_days: int = Field(default=30, ge=30, le=3650)


class ReasonBody(Input):
    reason: Reason


class ReviewBody(Input):
    approve: bool
    reason: Reason | None = Field(default=None, description="required when approve is false")


class ScriptBody(Input):
    text: Text


class VideoBody(Input):
    video_id: VideoId


class BriefPublic(BaseModel):
    product: str
    requirements: str
    due_date: date | None


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
    scripts: list[Script]
    videos: list[Video]
    publications: list[Publication]
    delivery_accepted_at: datetime | None
    retention_ends_at: datetime | None
    video_public: bool | None
    violation: str | None
    refusal: str | None

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
            your_actions=[a for step in view.next if step.actor is role for a in step.actions],
            accepted_at=view.accepted_at,
            scripts=view.scripts,
            videos=view.videos,
            publications=view.publications,
            delivery_accepted_at=view.delivery_accepted_at,
            retention_ends_at=view.retention_ends_at,
            video_public=view.video_public,
            violation=view.violation,
            refusal=view.refusal,
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


class ReviewItem(BaseModel):
    order_id: str
    kind: Literal["script", "video"]
    waiting_since: datetime
    creator_id: str
    product: str


class Problem(BaseModel):
    """Every error: a plain reason, or for a malformed request FastAPI's list of field errors."""

    detail: str | list[dict[str, Any]]


class Health(BaseModel):
    status: Literal["ok"]
