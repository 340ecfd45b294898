"""Creators: opening the task (rules C1-C6), the creator square (S1), credit (O9).

MCN membership (C7) is services/mcn.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from adapters.video_platform import AccountNotFound, AccountOwner, LoginPlatform, VideoPlatform
from db.engine import reading
from db.schema import creators, credit_events, users
from db.sql import insert_ignore
from workflows.bounds import MAX_PAYMENT_FEN
from workflows.errors import ErrorKind, Refusal

STARTING_CREDIT = 100
# Xingtu takes 25 points for a video taken down before its retention period ends.
VIOLATION_PENALTY = 25


class CreatorError(Refusal):
    """A creator or MCN request that was not carried out."""


@dataclass(frozen=True)
class Thresholds:
    """Rule C2's thresholds; configuration, not code."""

    min_fans: int = 10_000
    min_avg_plays: int = 1_000
    recent_videos: int = 20


@dataclass(frozen=True)
class Check:
    condition: str
    passed: bool
    measured: int | bool
    threshold: int | bool


@dataclass(frozen=True)
class Application:
    approved: bool
    checks: list[Check]

    @property
    def unmet(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]


def _creator(conn: Connection, creator_id: str) -> Row[Any]:
    row = conn.execute(select(creators).where(creators.c.user_id == creator_id)).first()
    if row is None:
        raise CreatorError(ErrorKind.NOT_FOUND, f"creator {creator_id} not found")
    return row


def ensure_creator(engine: Engine, creator_id: str) -> None:
    """Every creator user has a profile row, empty until onboarding fills it."""
    with engine.begin() as conn:
        insert_ignore(
            conn,
            creators,
            {
                "user_id": creator_id,
                "accepting_orders": False,
                "fans": 0,
                "avg_plays": 0,
                "credit_score": STARTING_CREDIT,
                "orderable": False,
            },
        )


def bind_xigua_account(
    engine: Engine,
    platform: VideoPlatform,
    creator_id: str,
    login_platform: LoginPlatform,
    login_account: str,
    xigua_account_id: str,
) -> None:
    """C1: bind a Xigua account that exists and belongs to the account the creator signed in
    with; one creator per Xigua account. Until the task is opened on it, the creator may bind
    another one instead (or unbind it)."""
    # Asked before the transaction: a platform call must not hold SQLite's write lock.
    try:
        owner = platform.account_owner(xigua_account_id)
    except AccountNotFound as e:
        raise CreatorError(
            ErrorKind.INVALID_INPUT,
            f"there is no Xigua account {xigua_account_id}: check the id on its Xigua profile",
        ) from e
    if owner != AccountOwner(login_platform=login_platform, login_account=login_account):
        raise CreatorError(
            ErrorKind.CONFLICT,
            f"Xigua account {xigua_account_id} does not belong to the {login_platform.value} "
            f"account {login_account} you signed in with",
        )
    ensure_creator(engine, creator_id)
    try:
        with engine.begin() as conn:
            row = _creator(conn, creator_id)
            if row.task_opened_at is not None and row.xigua_account_id != xigua_account_id:
                raise CreatorError(
                    ErrorKind.INVALID_STATE,
                    f"the task is open on Xigua account {row.xigua_account_id}, "
                    "which therefore stays bound",
                )
            holder = conn.execute(
                select(creators.c.user_id).where(creators.c.xigua_account_id == xigua_account_id)
            ).scalar()
            if holder is not None and holder != creator_id:
                raise _bound_to_another(xigua_account_id)
            conn.execute(
                update(creators)
                .where(creators.c.user_id == creator_id)
                .values(
                    login_platform=login_platform.value,
                    login_account=login_account,
                    xigua_account_id=xigua_account_id,
                )
            )
    except IntegrityError as e:  # another creator bound it between our check and our write
        raise _bound_to_another(xigua_account_id) from e


def _bound_to_another(xigua_account_id: str) -> CreatorError:
    return CreatorError(
        ErrorKind.CONFLICT, f"Xigua account {xigua_account_id} is bound to another creator"
    )


def unbind_xigua_account(engine: Engine, creator_id: str) -> None:
    """C1: free the bound account (a mistyped one, say) before the task is opened on it."""
    ensure_creator(engine, creator_id)
    with engine.begin() as conn:
        row = _creator(conn, creator_id)
        if row.task_opened_at is not None:
            raise CreatorError(
                ErrorKind.INVALID_STATE,
                f"the task is open on Xigua account {row.xigua_account_id}, which stays bound",
            )
        conn.execute(
            update(creators)
            .where(creators.c.user_id == creator_id)
            .values(login_platform=None, login_account=None, xigua_account_id=None)
        )


def judge(
    metrics_fans: int, unhealthy: bool, original: bool, avg_plays: int, t: Thresholds
) -> list[Check]:
    return [
        Check("fans on Toutiao and Xigua", metrics_fans >= t.min_fans, metrics_fans, t.min_fans),
        Check("no unhealthy-content flag", not unhealthy, unhealthy, False),
        Check("original (原创) permission", original, original, True),
        Check(
            f"average plays of the {t.recent_videos} latest videos",
            avg_plays >= t.min_avg_plays,
            avg_plays,
            t.min_avg_plays,
        ),
    ]


def apply_for_task(
    engine: Engine, platform: VideoPlatform, creator_id: str, thresholds: Thresholds
) -> Application:
    """C2: read the account's metrics now and open the task if every condition holds; a
    refusal lists every unmet condition with what was measured and the threshold."""
    with reading(engine) as conn:
        account = _creator(conn, creator_id).xigua_account_id
    if account is None:
        raise CreatorError(ErrorKind.INVALID_STATE, "bind a Xigua account before applying")
    try:
        metrics = platform.account_metrics(account)
    except AccountNotFound as e:
        # Checked at binding; gone since (closed on the platform): bind another one.
        raise CreatorError(
            ErrorKind.INVALID_STATE, f"Xigua account {account} no longer exists; bind another one"
        ) from e
    recent = metrics.recent_plays[: thresholds.recent_videos]
    # Integer average, rounded down: an account just under the bar is under it.
    avg_plays = sum(recent) // len(recent) if recent else 0
    fans = metrics.fans_toutiao + metrics.fans_xigua
    checks = judge(fans, metrics.unhealthy, metrics.original, avg_plays, thresholds)
    application = Application(approved=all(c.passed for c in checks), checks=checks)
    if application.approved:
        with engine.begin() as conn:
            opened = _creator(conn, creator_id).task_opened_at or datetime.now(UTC)
            conn.execute(
                update(creators)
                .where(creators.c.user_id == creator_id)
                .values(
                    task_opened_at=opened,
                    fans=fans,
                    avg_plays=avg_plays,
                    category=metrics.category,
                )
            )
            _refresh_orderable(conn, creator_id)
    return application


def set_quote(engine: Engine, creator_id: str, quote_fen: int) -> None:
    """C3: the price of one customised video, in fen."""
    if type(quote_fen) is not int or not 0 < quote_fen <= MAX_PAYMENT_FEN:
        raise CreatorError(ErrorKind.INVALID_INPUT, f"a quote is 1 to {MAX_PAYMENT_FEN} whole fen")
    _update_creator(engine, creator_id, quote_fen=quote_fen)


def set_accepting(engine: Engine, creator_id: str, accepting: bool) -> None:
    """C6: no new orders while off; running orders go on."""
    _update_creator(engine, creator_id, accepting_orders=accepting)


def set_contact(engine: Engine, user_id: str, phone: str, email: str) -> None:
    """C4: real contact details; kept from the other side, who gets a virtual number."""
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(phone=phone, email=email))
        _refresh_orderable(conn, user_id)


def _update_creator(engine: Engine, creator_id: str, **values: Any) -> None:
    ensure_creator(engine, creator_id)
    with engine.begin() as conn:
        conn.execute(update(creators).where(creators.c.user_id == creator_id).values(**values))
        _refresh_orderable(conn, creator_id)


def _refresh_orderable(conn: Connection, creator_id: str) -> None:
    row = conn.execute(
        select(creators, users.c.phone, users.c.email)
        .join(users, users.c.id == creators.c.user_id)
        .where(creators.c.user_id == creator_id)
    ).first()
    if row is not None:
        conn.execute(
            update(creators)
            .where(creators.c.user_id == creator_id)
            .values(orderable=not _why_not_orderable(row))
        )


def _why_not_orderable(row: Row[Any]) -> list[str]:
    reasons = []
    if row.task_opened_at is None:
        reasons.append("has not opened the Xigua propagation task")
    if row.quote_fen is None:
        reasons.append("has set no quote")
    if not row.phone or not row.email:
        reasons.append("has not given a contact phone and e-mail")
    if not row.accepting_orders:
        reasons.append("is not accepting orders")
    return reasons


def why_not_orderable(engine: Engine, creator_id: str) -> list[str]:
    """C5: every reason the creator cannot be ordered now; empty if it can."""
    row = _with_contacts(engine, creator_id)
    if row is None:
        return ["does not exist"]
    return _why_not_orderable(row)


def orderable_creator(engine: Engine, creator_id: str) -> Row[Any]:
    """C5: the creator's row, read once, if it can be ordered now. Refused otherwise: NotFound
    when there is no such creator, NotOrderable with every reason when there is."""
    row = _with_contacts(engine, creator_id)
    if row is None:
        raise CreatorError(ErrorKind.NOT_FOUND, f"creator {creator_id} not found")
    reasons = _why_not_orderable(row)
    if reasons:
        raise CreatorError(
            ErrorKind.NOT_ORDERABLE,
            f"creator {creator_id} cannot be ordered: it " + "; it ".join(reasons),
        )
    return row


def _with_contacts(engine: Engine, creator_id: str) -> Row[Any] | None:
    with reading(engine) as conn:
        return conn.execute(
            select(creators, users.c.phone, users.c.email)
            .join(users, users.c.id == creators.c.user_id)
            .where(creators.c.user_id == creator_id)
        ).first()


def profile(engine: Engine, creator_id: str) -> Row[Any]:
    with reading(engine) as conn:
        row = conn.execute(
            select(creators, users.c.display_name, users.c.phone, users.c.email)
            .join(users, users.c.id == creators.c.user_id)
            .where(creators.c.user_id == creator_id)
        ).first()
    if row is None:
        raise CreatorError(ErrorKind.NOT_FOUND, f"creator {creator_id} not found")
    return row


def lower_credit(engine: Engine, creator_id: str, order_id: str, reason: str) -> bool:
    """O9: a retention violation costs the creator credit, once per order."""
    with engine.begin() as conn:
        fresh = insert_ignore(
            conn,
            credit_events,
            {
                "order_id": order_id,
                "creator_id": creator_id,
                "delta": -VIOLATION_PENALTY,
                "reason": reason,
                "at": datetime.now(UTC),
            },
        )
        if fresh:
            score = _creator(conn, creator_id).credit_score
            conn.execute(
                update(creators)
                .where(creators.c.user_id == creator_id)
                .values(credit_score=max(0, score - VIOLATION_PENALTY))
            )
    return fresh


# --------------------------------------------------------------------- the square (S1)


class SortBy(StrEnum):
    PRICE = "price"
    FANS = "fans"
    PLAYS = "plays"


SORT_COLUMNS = {
    SortBy.PRICE: creators.c.quote_fen,
    SortBy.FANS: creators.c.fans,
    SortBy.PLAYS: creators.c.avg_plays,
}


@dataclass(frozen=True)
class SquareQuery:
    max_price_fen: int | None = None
    min_fans: int | None = None
    min_avg_plays: int | None = None
    category: str | None = None
    sort: SortBy = SortBy.PRICE
    descending: bool = False
    limit: int = 20
    # (value of the sort column, user_id) of the last card of the previous page.
    after: tuple[int, str] | None = None


def square(engine: Engine, q: SquareQuery) -> list[Row[Any]]:
    """Orderable creators only, filtered and sorted, in a stable order (ties broken by id)
    that keyset cursors resume without skipping or repeating a card."""
    with reading(engine) as conn:
        return cast(list[Row[Any]], list(conn.execute(square_query(q)).all()))


def square_query(q: SquareQuery) -> Select[Any]:
    """The square's SELECT: each sort walks one of the ix_creators_square_* indexes."""
    key = SORT_COLUMNS[q.sort]
    conditions: list[ColumnElement[bool]] = [creators.c.orderable.is_(True)]
    if q.max_price_fen is not None:
        conditions.append(creators.c.quote_fen <= q.max_price_fen)
    if q.min_fans is not None:
        conditions.append(creators.c.fans >= q.min_fans)
    if q.min_avg_plays is not None:
        conditions.append(creators.c.avg_plays >= q.min_avg_plays)
    if q.category is not None:
        conditions.append(creators.c.category == q.category)
    if q.after is not None:
        position = tuple_(key, creators.c.user_id)
        conditions.append(position < q.after if q.descending else position > q.after)
    order = [key.desc(), creators.c.user_id.desc()] if q.descending else [key, creators.c.user_id]
    query: Select[Any] = (
        select(
            creators.c.user_id,
            users.c.display_name,
            creators.c.quote_fen,
            creators.c.fans,
            creators.c.avg_plays,
            creators.c.category,
            creators.c.credit_score,
            creators.c.mcn_id,
        )
        .join(users, users.c.id == creators.c.user_id)
        .where(and_(*conditions))
        .order_by(*order)
        .limit(q.limit)
    )
    return query


def sort_value(row: Row[Any], sort: SortBy) -> int:
    return int(
        {SortBy.PRICE: row.quote_fen, SortBy.FANS: row.fans, SortBy.PLAYS: row.avg_plays}[sort]
    )
