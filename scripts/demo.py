"""`make demo`: one order through its whole life on the running system (`make run`), with
durations shortened by configuration (rule B4), so it can be watched in the Web UI; and, while
it is in retention, a second order whose creator never delivers, cancelled as overdue (D2), and
a third whose dispute ops resolve by cancelling it with a partial refund (X3, X4).

Accept window 10 min, the client's confirmation 5 s (the first order's script is confirmed
by the system: D2's auto-confirm), auto-accept 20 s after publishing, a retention "day" of 2 s;
the second order's script is due 5 s after acceptance. At the end it lists every notification
the first order produced and where the relay delivered each one.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import Client

from adapters.video_platform import SimulatedVideoPlatform
from bootstrap import connect_temporal, order_service
from config import get_settings
from db import ledger
from db.engine import make_engine
from scripts.run import DATA_DIR
from scripts.seed import DEMO_CLIENT, DEMO_CREATOR, DEMO_OPS, DEMO_REVIEWER, seed_demo
from services import marketing, notifications
from services.orders import OrderService, PlaceOrder
from workflows.messages import (
    Action,
    ActionInput,
    Actor,
    Brief,
    OrderStatus,
    OrderView,
    ReasonInput,
    Resolution,
    ResolveDisputeInput,
    ReviewInput,
    Role,
    ScriptInput,
    Timings,
    VideoInput,
)

DEMO_TIMINGS = Timings(
    accept_window=timedelta(minutes=10),
    auto_accept_after=timedelta(seconds=20),
    retention_day=timedelta(seconds=2),
    video_check_every=timedelta(seconds=10),
    client_confirm_within=timedelta(seconds=5),
)
# The second order: its creator accepts and then delivers nothing.
OVERDUE_TIMINGS = DEMO_TIMINGS.model_copy(update={"script_due_after": timedelta(seconds=5)})
CLIENT = Actor(id=DEMO_CLIENT, role=Role.CLIENT)
CREATOR = Actor(id=DEMO_CREATOR, role=Role.CREATOR)
REVIEWER = Actor(id=DEMO_REVIEWER, role=Role.REVIEWER)
OPS = Actor(id=DEMO_OPS, role=Role.OPS)


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} yuan"


def show(view: OrderView) -> None:
    print(f"  -> {view.status}")
    for step in view.next:
        due = (
            f" by {step.deadline:%Y-%m-%d %H:%M:%S} UTC, else {step.at_deadline}"
            if step.deadline
            else ""
        )
        actions = ", ".join(step.actions) or "nothing to do"
        print(f"     next: {step.actor} ({actions}){due}")


async def main(pace: float) -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    seed_demo(engine)
    client = await connect_temporal(settings)
    service = order_service(client, engine, settings, DEMO_TIMINGS)

    async def do(text: str, action: Action, payload: ActionInput) -> OrderView:
        await asyncio.sleep(pace)
        print(f"{payload.actor.role} {payload.actor.id}: {text}")
        view = await service.act(order_id, action, payload)
        show(view)
        return view

    order_id = uuid.uuid4().hex[:12]
    brief = Brief(product="Pearl River soy sauce", requirements="Cook one dish with it on camera")
    print(f"client {DEMO_CLIENT}: orders {DEMO_CREATOR} at the creator's quote")
    view = await service.place(
        PlaceOrder(client_id=DEMO_CLIENT, creator_id=DEMO_CREATOR, brief=brief, order_id=order_id)
    )
    print(
        f"  order {order_id}: {yuan(view.terms.price_fen)} + {yuan(view.terms.fee_fen)} fee "
        f"frozen in escrow"
    )
    print(f"  watch it: http://127.0.0.1:8233/namespaces/default/workflows/order-{order_id}")
    show(view)

    await do("accepts", Action.ACCEPT, ActionInput(actor=CREATOR, request_id=rid()))
    script = "Open on the wok; the sauce is the best in China."
    await do(
        "uploads a script",
        Action.SUBMIT_SCRIPT,
        ScriptInput(actor=CREATOR, request_id=rid(), text=script),
    )
    await do(
        "rejects it: absolute claims break advertising law",
        Action.REVIEW_SCRIPT,
        ReviewInput(
            actor=REVIEWER,
            request_id=rid(),
            approve=False,
            reason="'the best in China' is an absolute claim",
        ),
    )
    script = "Open on the wok; a spoon of sauce, a family dinner."
    await do(
        "uploads a revised script",
        Action.SUBMIT_SCRIPT,
        ScriptInput(actor=CREATOR, request_id=rid(), text=script),
    )
    await do(
        "approves it",
        Action.REVIEW_SCRIPT,
        ReviewInput(actor=REVIEWER, request_id=rid(), approve=True),
    )
    wait = DEMO_TIMINGS.client_confirm_within.seconds
    print(f"client {DEMO_CLIENT}: stays silent; the script is confirmed in {wait} s (rule D2) ...")
    show(await until_not(service, order_id, OrderStatus.SCRIPT_AWAITING_CLIENT))
    video = f"xigua-{order_id}"
    await do(
        f"uploads video {video}",
        Action.SUBMIT_VIDEO,
        VideoInput(actor=CREATOR, request_id=rid(), video_id=video),
    )
    await do(
        "approves the video",
        Action.REVIEW_VIDEO,
        ReviewInput(actor=REVIEWER, request_id=rid(), approve=True),
    )
    await do(
        "confirms the video", Action.CONFIRM_VIDEO, ActionInput(actor=CLIENT, request_id=rid())
    )
    await do(
        "publishes it on the creator's account",
        Action.PUBLISH,
        ActionInput(actor=CLIENT, request_id=rid()),
    )

    # Viewers find the video on Xigua (the simulator stands in for them).
    SimulatedVideoPlatform(engine).add_engagement(video, 120_000, 2_400, 310, 290, 0.46)
    print(f"waiting {DEMO_TIMINGS.auto_accept_after.seconds} s for automatic acceptance ...")
    handle = service._handle(order_id)
    view = await until_not(service, order_id, OrderStatus.PUBLISHED)
    show(view)
    paid = ledger.balance(engine, ledger.creator_account(DEMO_CREATOR))
    fees = ledger.balance(engine, ledger.PLATFORM_FEES)
    print(f"  {DEMO_CREATOR} balance: {yuan(paid)}; platform fees: {yuan(fees)}")
    days = view.terms.retention_days
    seconds = days * DEMO_TIMINGS.retention_day.total_seconds()
    print(f"retention runs for {days} demo days = {seconds:.0f} s; meanwhile, a second order:")
    await overdue_order(client, engine, pace)
    print("and a third order, disputed:")
    await dispute_resolved_with_a_partial_refund(service, engine, pace)
    print("waiting for the first order's retention period to end ...")
    result = await handle.result()
    print(f"order {order_id} ended: {result.status}")
    samples = marketing.samples(engine, order_id)
    cost = view.terms.total_fen
    last = samples[-1]
    print(
        f"marketing data: {len(samples)} samples; {last.plays:,} plays, "
        f"{last.engagements:,} engagements; CPM {yuan(marketing.cpm_fen(cost, last.plays) or 0)}, "
        f"CPE {yuan(marketing.cpe_fen(cost, last.engagements) or 0)}"
    )
    problems = ledger.check_invariants(engine)
    print("ledger invariants: " + ("all hold" if not problems else "; ".join(problems)))
    await show_notifications(engine, order_id)


async def show_notifications(engine: Engine, order_id: str, wait_s: float = 20) -> None:
    """The notifications the order produced and where the relay delivered them (N1)."""
    deadline = time.monotonic() + wait_s
    while True:
        report = notifications.deliveries_of_order(engine, order_id)
        pending = any(d.status == "pending" for n in report for d in n.deliveries)
        if not pending or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)  # the relay runs beside us (make run); give it a moment
    print(f"notifications of order {order_id} ({len(report)}), and where they went:")
    for note in report:
        message = note.message
        print(f"  {message.created_at:%H:%M:%S} to {note.recipient}: {message.title}")
        for d in note.deliveries:
            tried = f", {d.attempts} attempt{'s' if d.attempts != 1 else ''}"
            why = f" ({d.last_error})" if d.last_error and d.status != "delivered" else ""
            print(f"      {d.channel:<7} {d.to:<26} {d.status}{tried}{why}")
        if not note.deliveries:
            print("      inbox only (no channel)")
    if pending:
        print("  (some still pending: is the relay running? `make run` starts it)")
    print(f"  e-mails are in {DATA_DIR / 'mail'}/ (the local mail server of make run)")


async def until_not(service: OrderService, order_id: str, status: OrderStatus) -> OrderView:
    """The order's view once it has left `status`. A demo for human eyes: polling the query
    once a second is plenty."""
    while (view := await service.view(order_id)).status is status:  # noqa: ASYNC110
        await asyncio.sleep(1)
    return view


async def overdue_order(client: Client, engine: Engine, pace: float) -> None:
    """An order whose creator accepts and never delivers: overdue at its script deadline, the
    client cancels it with a full refund (D2)."""
    service = order_service(client, engine, get_settings(), OVERDUE_TIMINGS)
    order_id = uuid.uuid4().hex[:12]
    before = ledger.balance(engine, ledger.client_account(DEMO_CLIENT))
    brief = Brief(product="Pearl River vinegar", requirements="A cold dish, dressed on camera")
    print(f"client {DEMO_CLIENT}: orders {DEMO_CREATOR} again ({order_id})")
    await service.place(
        PlaceOrder(client_id=DEMO_CLIENT, creator_id=DEMO_CREATOR, brief=brief, order_id=order_id)
    )
    await asyncio.sleep(pace)
    print(f"creator {DEMO_CREATOR}: accepts, then delivers nothing")
    show(await service.act(order_id, Action.ACCEPT, ActionInput(actor=CREATOR, request_id=rid())))
    print(f"waiting {OVERDUE_TIMINGS.script_due_after.seconds} s for the script deadline ...")
    while not (view := await service.view(order_id)).overdue:  # noqa: ASYNC110
        await asyncio.sleep(1)
    print("  the script is overdue: the client may now cancel with a full refund")
    show(view)
    await asyncio.sleep(pace)
    print(f"client {DEMO_CLIENT}: cancels the overdue order")
    reason = "no script by the deadline"
    show(
        await service.act(
            order_id,
            Action.CANCEL_OVERDUE,
            ReasonInput(actor=CLIENT, request_id=rid(), reason=reason),
        )
    )
    after = ledger.balance(engine, ledger.client_account(DEMO_CLIENT))
    print(f"  {DEMO_CLIENT} balance: {yuan(after)} (as before the order: {after == before})")


async def dispute_resolved_with_a_partial_refund(
    service: OrderService, engine: Engine, pace: float
) -> None:
    """X3, X4: the client disputes the script; ops cancel with a third of the price back."""
    order_id = uuid.uuid4().hex[:12]

    async def do(text: str, action: Action, payload: ActionInput) -> OrderView:
        await asyncio.sleep(pace)
        print(f"{payload.actor.role} {payload.actor.id}: {text}")
        view = await service.act(order_id, action, payload)
        show(view)
        return view

    brief = Brief(product="Pearl River oyster sauce", requirements="A stir-fry in one take")
    before = ledger.balance(engine, ledger.client_account(DEMO_CLIENT))
    earned = ledger.balance(engine, ledger.creator_account(DEMO_CREATOR))
    fees = ledger.balance(engine, ledger.PLATFORM_FEES)
    print(f"client {DEMO_CLIENT}: orders {DEMO_CREATOR} once more ({order_id})")
    view = await service.place(
        PlaceOrder(client_id=DEMO_CLIENT, creator_id=DEMO_CREATOR, brief=brief, order_id=order_id)
    )
    price, fee = view.terms.price_fen, view.terms.fee_fen
    print(f"  {yuan(price)} + {yuan(fee)} fee frozen in escrow")
    await do("accepts", Action.ACCEPT, ActionInput(actor=CREATOR, request_id=rid()))
    await do(
        "uploads a script",
        Action.SUBMIT_SCRIPT,
        ScriptInput(actor=CREATOR, request_id=rid(), text="A braised dish, three takes."),
    )
    await do(
        "opens a dispute: the brief asked for one take",
        Action.OPEN_DISPUTE,
        ReasonInput(actor=CLIENT, request_id=rid(), reason="the brief asked for one take"),
    )
    refund = price // 3
    await do(
        f"cancels it: {yuan(refund)} of the price back to the client, the rest to the creator",
        Action.RESOLVE_DISPUTE,
        ResolveDisputeInput(
            actor=OPS,
            request_id=rid(),
            resolution=Resolution.CANCEL,
            refund_fen=refund,
            reason="the script was written, but not to the brief",
        ),
    )
    back = ledger.balance(engine, ledger.client_account(DEMO_CLIENT)) - (before - price - fee)
    paid = ledger.balance(engine, ledger.creator_account(DEMO_CREATOR)) - earned
    kept = ledger.balance(engine, ledger.PLATFORM_FEES) - fees
    escrow = ledger.balance(engine, ledger.escrow_account(order_id))
    print(
        f"  split (rule X4): client {yuan(back)} back (the fee pro rata, rounded down), "
        f"creator {yuan(paid)}, platform {yuan(kept)}; escrow {yuan(escrow)}"
    )


def rid() -> str:
    return uuid.uuid4().hex


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pace", type=float, default=1.5, help="seconds between steps")
    asyncio.run(main(parser.parse_args().pace))
