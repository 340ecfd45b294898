"""Wallets: balance and statement, top-ups (clients), withdrawals (creators and MCNs)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api import idempotency
from api.deps import ContextDep, CurrentUser, IdempotencyKey, require
from api.errors import ApiError, from_refusal
from api.schemas import (
    CreatorEarningsPublic,
    PaymentPublic,
    StatementLinePublic,
    StatementPage,
    TopUpBody,
    Wallet,
    WithdrawalBody,
    problem_responses,
)
from db import ledger
from services import wallets
from services.auth import User
from services.wallets import WalletError
from services.withdrawals import withdraw
from workflows.bounds import RowId
from workflows.errors import ErrorKind
from workflows.messages import Id, Role, WithdrawalInput

router = APIRouter(tags=["wallet"])
ERRORS = problem_responses(401, 403, 404, 409, 422, 503)


def _account(user: User) -> str:
    require(user, Role.CLIENT, Role.CREATOR, Role.MCN)
    return wallets.account_of(user.id, user.role)


def _public(row: Any) -> dict[str, Any]:
    payment = PaymentPublic(
        id=row.id,
        kind=row.kind,
        amount_fen=row.amount_fen,
        status=row.status,
        failure=row.failure,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
    return dict(jsonable_encoder(payment))


@router.get("/wallet", response_model=Wallet, responses=ERRORS)
def wallet(user: CurrentUser, context: ContextDep) -> Wallet:
    """The caller's balance, in fen."""
    account = _account(user)
    return Wallet(account=account, balance_fen=ledger.balance(context.engine, account))


@router.get("/wallet/statement", response_model=StatementPage, responses=ERRORS)
def statement(
    user: CurrentUser,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[RowId | None, Query()] = None,
) -> StatementPage:
    """Every movement of the caller's money, newest first; follow next_cursor."""
    lines = wallets.statement(context.engine, _account(user), limit + 1, cursor)
    page = lines[:limit]
    return StatementPage(
        items=[StatementLinePublic(**vars(line)) for line in page],
        next_cursor=str(page[-1].entry_id) if len(lines) > limit else None,
    )


@router.post("/wallet/top-ups", status_code=201, response_model=PaymentPublic, responses=ERRORS)
async def top_up(
    body: TopUpBody, user: CurrentUser, context: ContextDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Client: add money through the payment provider; a retried request charges once."""
    require(user, Role.CLIENT)
    payment_id = (
        idempotency.derived_id(user.id, idempotency_key) if idempotency_key else uuid.uuid4().hex
    )

    async def charge() -> tuple[int, Any]:
        try:
            row = await run_in_threadpool(
                wallets.top_up,
                context.engine,
                context.adapters.payments,
                user.id,
                body.amount_fen,
                payment_id,
            )
        except WalletError as e:
            raise from_refusal(e) from e
        if row.status == "failed":
            raise ApiError(ErrorKind.PAYMENT_DECLINED, f"the payment was declined: {row.failure}")
        return 201, _public(row)

    fingerprint = idempotency.request_hash("POST /wallet/top-ups", body.model_dump())
    return await idempotency.run_once(context.engine, user.id, idempotency_key, fingerprint, charge)


@router.post("/wallet/withdrawals", status_code=201, response_model=PaymentPublic, responses=ERRORS)
async def withdrawal(
    body: WithdrawalBody,
    user: CurrentUser,
    context: ContextDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Creator or MCN: pay the balance out to a bank account; a retried request pays once.

    A creator in an MCN withdraws what its own wallet holds: what it earned before joining.
    Orders placed while it is a member pay the MCN's wallet instead (C7, O8)."""
    require(user, Role.CREATOR, Role.MCN)
    withdrawal_id = (
        idempotency.derived_id(user.id, idempotency_key) if idempotency_key else uuid.uuid4().hex
    )
    client = await context.client()

    async def pay() -> tuple[int, Any]:
        try:
            await run_in_threadpool(
                wallets.start_withdrawal,
                context.engine,
                withdrawal_id,
                user.id,
                body.amount_fen,
                body.bank_account,
            )
        except WalletError as e:
            raise from_refusal(e) from e
        request = WithdrawalInput(
            withdrawal_id=withdrawal_id,
            user_id=user.id,
            account_id=wallets.account_of(user.id, user.role),
            amount_fen=body.amount_fen,
            bank_account=body.bank_account,
        )
        result = await withdraw(
            client, context.settings.task_queue, request, context.settings.temporal_rpc_timeout
        )
        row = await run_in_threadpool(wallets.payment, context.engine, withdrawal_id)
        assert row is not None
        if (
            result is not None
            and not result.succeeded
            and "insufficient balance" in (result.failure or "")
        ):
            raise ApiError(ErrorKind.INSUFFICIENT_FUNDS, result.failure or "insufficient balance")
        return (201 if result is not None else 202), _public(row)

    fingerprint = idempotency.request_hash("POST /wallet/withdrawals", body.model_dump())
    return await idempotency.run_once(context.engine, user.id, idempotency_key, fingerprint, pay)


@router.get("/wallet/payments/{payment_id}", response_model=PaymentPublic, responses=ERRORS)
def get_payment(
    payment_id: Annotated[Id, Path()], user: CurrentUser, context: ContextDep
) -> JSONResponse:
    """One of the caller's top-ups or withdrawals."""
    row = wallets.payment(context.engine, payment_id)
    if row is None or row.user_id != user.id:
        raise ApiError(ErrorKind.NOT_FOUND, f"payment {payment_id} not found")
    return JSONResponse(_public(row))


@router.get("/mcn/earnings", response_model=list[CreatorEarningsPublic], responses=ERRORS)
def mcn_earnings(user: CurrentUser, context: ContextDep) -> list[CreatorEarningsPublic]:
    """MCN: what each of its creators has earned it, from released escrows."""
    require(user, Role.MCN)
    return [CreatorEarningsPublic(**vars(e)) for e in wallets.mcn_earnings(context.engine, user.id)]
