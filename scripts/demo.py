"""`make demo`: one order through its whole life on the running system (`make run`), with
durations shortened by configuration (rule B4), so it can be watched in the Web UI; then a
second order whose dispute ops resolve by cancelling it with a partial refund (X3, X4).

Accept window 10 min, auto-accept 20 s after publishing, a retention "day" of 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import Engine

from adapters.video_platform import SimulatedVideoPlatform
from bootstrap import connect_temporal, order_service
from config import get_settings
from db import ledger
from db.engine import make_engine
from scripts.seed import DEMO_CLIENT, DEMO_CREATOR, DEMO_OPS, DEMO_REVIEWER, seed_demo
from services import marketing
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
)
CLIENT = Actor(id=DEMO_CLIENT, role=Role.CLIENT)
CREATOR = Actor(id=DEMO_CREATOR, role=Role.CREATOR)
REVIEWER = Actor(id=DEMO_REVIEWER, role=Role.REVIEWER)
OPS = Actor(id=DEMO_OPS, role=Role.OPS)


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} yuan"


def show(view: OrderView) -> None:
    print(f"  -> {view.status}")
    for step in view.next:
        due = f" by {step.deadline:%H:%M:%S} UTC, else {step.at_deadline}" if step.deadline else ""
        actions = ", ".join(step.actions) or "nothing to do"
        print(f"     next: {step.actor} ({actions}){due}")


def rid() -> str:
    return uuid.uuid4().hex


def stepper(
    service: OrderService, order_id: str, pace: float
) -> Callable[[str, Action, ActionInput], Awaitable[OrderView]]:
    """One action of the order, at the demo's pace, said and shown."""

    async def do(text: str, action: Action, payload: ActionInput) -> OrderView:
        await asyncio.sleep(pace)
        print(f"{payload.actor.role} {payload.actor.id}: {text}")
        view = await service.act(order_id, action, payload)
        show(view)
        return view

    return do


async def main(pace: float) -> None:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    seed_demo(engine)
    client = await connect_temporal(settings)
    service = order_service(client, engine, settings, DEMO_TIMINGS)

    order_id = uuid.uuid4().hex[:12]
    do = stepper(service, order_id, pace)
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
    await do(
        "confirms the script", Action.CONFIRM_SCRIPT, ActionInput(actor=CLIENT, request_id=rid())
    )
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
    # A demo for human eyes: polling the query once a second is plenty.
    while (view := await service.view(order_id)).status is OrderStatus.PUBLISHED:  # noqa: ASYNC110
        await asyncio.sleep(1)
    show(view)
    paid = ledger.balance(engine, ledger.creator_account(DEMO_CREATOR))
    fees = ledger.balance(engine, ledger.PLATFORM_FEES)
    print(f"  {DEMO_CREATOR} balance: {yuan(paid)}; platform fees: {yuan(fees)}")
    days = view.terms.retention_days
    seconds = days * DEMO_TIMINGS.retention_day.total_seconds()
    print(f"waiting for the retention period ({days} demo days = {seconds:.0f} s) ...")
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
    await dispute_resolved_with_a_partial_refund(service, engine, pace)
    problems = ledger.check_invariants(engine)
    print("ledger invariants: " + ("all hold" if not problems else "; ".join(problems)))


async def dispute_resolved_with_a_partial_refund(
    service: OrderService, engine: Engine, pace: float
) -> None:
    """X3, X4: the client disputes the script; ops cancel with a third of the price back."""
    order_id = uuid.uuid4().hex[:12]
    do = stepper(service, order_id, pace)
    print("\na second order, and a dispute:")
    brief = Brief(product="Pearl River oyster sauce", requirements="A stir-fry in one take")
    before = ledger.balance(engine, ledger.client_account(DEMO_CLIENT))
    earned = ledger.balance(engine, ledger.creator_account(DEMO_CREATOR))
    fees = ledger.balance(engine, ledger.PLATFORM_FEES)
    view = await service.place(
        PlaceOrder(client_id=DEMO_CLIENT, creator_id=DEMO_CREATOR, brief=brief, order_id=order_id)
    )
    price, fee = view.terms.price_fen, view.terms.fee_fen
    print(f"  order {order_id}: {yuan(price)} + {yuan(fee)} fee frozen in escrow")
    await do("accepts", Action.ACCEPT, ActionInput(actor=CREATOR, request_id=rid()))
    await do(
        "uploads a script",
        Action.SUBMIT_SCRIPT,
        ScriptInput(actor=CREATOR, request_id=rid(), text="A braised dish, three takes."),
    )
    await do(
        "approves it",
        Action.REVIEW_SCRIPT,
        ReviewInput(actor=REVIEWER, request_id=rid(), approve=True),
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
    print(
        f"  split (rule X4): client {yuan(back)} back (the fee pro rata, rounded down), "
        f"creator {yuan(paid)}, platform {yuan(kept)}; escrow "
        f"{yuan(ledger.balance(engine, ledger.escrow_account(order_id)))}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pace", type=float, default=1.5, help="seconds between steps")
    asyncio.run(main(parser.parse_args().pace))
