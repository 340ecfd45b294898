"""Creators: opening the task (C1-C6) and the creator square (S1); MCNs are api/routes/mcn.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from adapters.video_platform import LoginPlatform
from api import cursors
from api.cursors import SquarePosition
from api.deps import ContextDep, CurrentUser, require
from api.errors import ApiError, from_refusal
from api.schemas import (
    AcceptingBody,
    ApplicationPublic,
    BindAccountBody,
    CheckPublic,
    CreatorCard,
    CreatorPage,
    CreatorProfile,
    PriceQuote,
    QuoteBody,
    problem_responses,
)
from services import creators
from services.creators import CreatorError, SortBy, SquareQuery
from services.orders import OrderPolicy
from workflows.bounds import Category, Count, Fen
from workflows.errors import ErrorKind
from workflows.messages import Id, Role

router = APIRouter(tags=["creators"])
ERRORS = problem_responses(401, 403, 404, 409, 422)


def profile(context: ContextDep, creator_id: str) -> CreatorProfile:
    row = creators.profile(context.engine, creator_id)
    return CreatorProfile(
        id=row.user_id,
        display_name=row.display_name,
        xigua_account_id=row.xigua_account_id,
        task_opened=row.task_opened_at is not None,
        quote_fen=row.quote_fen,
        accepting_orders=row.accepting_orders,
        mcn_id=row.mcn_id,
        phone=row.phone,
        email=row.email,
        fans=row.fans,
        avg_plays=row.avg_plays,
        category=row.category,
        credit_score=row.credit_score,
        orderable=row.orderable,
        not_orderable_because=creators.why_not_orderable(context.engine, creator_id),
    )


def creator_of(user: CurrentUser, context: ContextDep) -> str:
    """The caller's id, if it is a creator (403 otherwise), with its profile row made."""
    require(user, Role.CREATOR)
    creators.ensure_creator(context.engine, user.id)
    return user.id


@router.get("/creators/me", response_model=CreatorProfile, responses=ERRORS)
def my_profile(user: CurrentUser, context: ContextDep) -> CreatorProfile:
    """The caller's creator profile, and every reason it cannot be ordered yet."""
    return profile(context, creator_of(user, context))


@router.put("/creators/me/xigua-account", response_model=CreatorProfile, responses=ERRORS)
def bind_account(body: BindAccountBody, user: CurrentUser, context: ContextDep) -> CreatorProfile:
    """Bind a Xigua account of the Douyin, Toutiao or Huoshan account you signed in with.

    It must exist (422) and belong to that account (409), and no other creator may hold it
    (409). Until the task is opened you may bind another one instead (409 after)."""
    creator_id = creator_of(user, context)
    try:
        creators.bind_xigua_account(
            context.engine,
            context.adapters.platform,
            creator_id,
            LoginPlatform(body.login_platform),
            body.login_account,
            body.xigua_account_id,
        )
    except CreatorError as e:
        raise from_refusal(e) from e
    return profile(context, creator_id)


@router.delete("/creators/me/xigua-account", response_model=CreatorProfile, responses=ERRORS)
def unbind_account(user: CurrentUser, context: ContextDep) -> CreatorProfile:
    """Unbind the Xigua account, before the task is opened on it (409 after)."""
    creator_id = creator_of(user, context)
    try:
        creators.unbind_xigua_account(context.engine, creator_id)
    except CreatorError as e:
        raise from_refusal(e) from e
    return profile(context, creator_id)


@router.post("/creators/me/task-application", response_model=ApplicationPublic, responses=ERRORS)
def apply(user: CurrentUser, context: ContextDep) -> ApplicationPublic:
    """Apply to open the task: eligibility is read from Xigua now; a refusal lists why."""
    creator_id = creator_of(user, context)
    try:
        result = creators.apply_for_task(
            context.engine, context.adapters.platform, creator_id, context.thresholds
        )
    except CreatorError as e:
        raise from_refusal(e) from e
    checks = [CheckPublic(**vars(c)) for c in result.checks]
    return ApplicationPublic(
        approved=result.approved, checks=checks, unmet=[c for c in checks if not c.passed]
    )


@router.put("/creators/me/quote", response_model=CreatorProfile, responses=ERRORS)
def set_quote(body: QuoteBody, user: CurrentUser, context: ContextDep) -> CreatorProfile:
    """Set the price, in fen, of one customised video that carries an advert."""
    creator_id = creator_of(user, context)
    creators.set_quote(context.engine, creator_id, body.quote_fen)
    return profile(context, creator_id)


@router.put("/creators/me/accepting", response_model=CreatorProfile, responses=ERRORS)
def set_accepting(body: AcceptingBody, user: CurrentUser, context: ContextDep) -> CreatorProfile:
    """Switch accepting orders on or off; orders already running go on either way."""
    creator_id = creator_of(user, context)
    creators.set_accepting(context.engine, creator_id, body.accepting)
    return profile(context, creator_id)


@router.get("/creators", response_model=CreatorPage, responses=ERRORS)
def creator_square(
    user: CurrentUser,
    context: ContextDep,
    max_price_fen: Annotated[Fen | None, Query()] = None,
    min_fans: Annotated[Count | None, Query()] = None,
    min_avg_plays: Annotated[Count | None, Query()] = None,
    category: Annotated[Category | None, Query()] = None,
    sort: SortBy = SortBy.PRICE,
    descending: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CreatorPage:
    """The creator square: orderable creators, filtered, sorted, in pages with a stable order."""
    del user  # any signed-in user may browse
    after = cursors.decode(cursor, SquarePosition) if cursor else None
    if after is not None and (after.sort, after.descending) != (sort, descending):
        raise ApiError(
            ErrorKind.INVALID_INPUT,
            "invalid cursor: it is of a page in another order; keep sort as it was",
        )
    query = SquareQuery(
        max_price_fen=max_price_fen,
        min_fans=min_fans,
        min_avg_plays=min_avg_plays,
        category=category,
        sort=sort,
        descending=descending,
        limit=limit + 1,
        after=(after.value, after.id) if after else None,
    )
    rows = creators.square(context.engine, query)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    return CreatorPage(
        items=[_card(r) for r in page],
        next_cursor=cursors.encode(
            SquarePosition(
                sort=sort,
                descending=descending,
                value=creators.sort_value(last, sort),
                id=last.user_id,
            )
        )
        if more and last
        else None,
    )


@router.get("/creators/{creator_id}", response_model=CreatorCard, responses=ERRORS)
def creator_card(
    creator_id: Annotated[Id, Path()], user: CurrentUser, context: ContextDep
) -> CreatorCard:
    """One creator's card, as the square shows it."""
    del user
    try:
        row = creators.profile(context.engine, creator_id)
    except CreatorError as e:
        raise from_refusal(e) from e
    if row.quote_fen is None:
        raise ApiError(ErrorKind.NOT_FOUND, f"creator {creator_id} not found")
    return _card(row)


@router.get("/creators/{creator_id}/price", response_model=PriceQuote, responses=ERRORS)
def price(creator_id: Annotated[Id, Path()], user: CurrentUser, context: ContextDep) -> PriceQuote:
    """What ordering this creator costs now: the quote, the service fee on top and the total
    frozen at placement, by the same rule placing uses; 404 as for the creator's card."""
    card = creator_card(creator_id, user, context)
    settings = context.settings
    policy = OrderPolicy(service_fee_bps=settings.service_fee_bps, timings=settings.timings())
    fee = policy.fee_for(card.quote_fen)
    return PriceQuote(
        creator_id=card.id, price_fen=card.quote_fen, fee_fen=fee, total_fen=card.quote_fen + fee
    )


def _card(row: Any) -> CreatorCard:
    return CreatorCard(
        id=row.user_id,
        display_name=row.display_name,
        quote_fen=row.quote_fen,
        fans=row.fans,
        avg_plays=row.avg_plays,
        category=row.category,
        credit_score=row.credit_score,
        in_mcn=row.mcn_id is not None,
    )
