"""Record one history of every order path into tests/histories/, for the replay test.

    python -m scripts.record_histories                    # every path
    python -m scripts.record_histories cancel_requested   # only the paths named

Run it when a deliberate, patched change of the order workflow should be captured as a new
baseline (keep the old files: old histories must keep replaying). The files of orders of the
old type, `OrderWorkflow`, are `order_*.v1.json`; they are never re-recorded. See
docs/WORKFLOW_CHANGES.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bootstrap import register_search_attributes
from db import ledger
from db.engine import make_engine
from db.ledger import Leg
from db.migrate import upgrade
from services.creators import set_quote
from services.orders import OrderError
from services.wallets import start_withdrawal
from services.withdrawals import withdraw
from temporal_bins import temporal_test_server
from tests.stack import CLIENT, CREATOR, REVIEWER, Stack, eventually, running_stack
from workflows.bounds import MAX_PAYMENT_FEN
from workflows.messages import Action, Actor, OrderView, Role, WithdrawalInput

HISTORIES = Path(__file__).resolve().parents[1] / "tests" / "histories"
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
OPS = Actor(id="ops-1", role=Role.OPS)
Path_ = Callable[[Stack, WorkflowEnvironment, str], Awaitable[None]]


async def accepted(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.to_published(order_id)
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await env.sleep(31 * DAY)


async def auto_accepted(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.to_published(order_id, video_id="v-first")
    await env.sleep(2 * DAY + DAY / 2)
    await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-second")
    await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)
    await env.sleep(40 * DAY)


async def republication_rejected(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.to_published(order_id, video_id="v-first")
    await env.sleep(DAY + DAY / 2)
    await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-second")
    await stack.act(
        order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=False, reason="logo hidden"
    )
    await stack.act(order_id, Action.REPUBLISH, CREATOR, video_id="v-third")
    await env.sleep(8 * DAY + DAY / 2)  # nothing is accepted before the review
    await stack.act(order_id, Action.REVIEW_PUBLICATION, REVIEWER, approve=True)
    await env.sleep(31 * DAY)


async def auto_cancelled(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await env.sleep(25 * timedelta(hours=1))


async def declined(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.act(order_id, Action.DECLINE, CREATOR, reason="fully booked")


async def rejected_loops(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")
    await stack.act(
        order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=False, reason="absolute claim"
    )
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v2")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    await stack.act(order_id, Action.REJECT_SCRIPT, CLIENT, reason="mention the price")
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v3")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    await stack.act(order_id, Action.CONFIRM_SCRIPT, CLIENT)
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-1")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=False, reason="logo hidden")
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-2")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    await stack.act(order_id, Action.REJECT_VIDEO, CLIENT, reason="too dark")
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-3")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    await stack.act(order_id, Action.CONFIRM_VIDEO, CLIENT)
    await stack.act(order_id, Action.PUBLISH, CLIENT)
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await env.sleep(31 * DAY)


async def retention_violation(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.to_published(order_id, video_id="v-gone")
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await env.sleep(9 * DAY + DAY / 2)
    stack.platform.remove("v-gone")
    await stack.service.video_removed(order_id, "v-gone", "deleted on day 10")


async def refused(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    del stack, env, order_id  # placed with a quote above the client's balance; nothing else


async def cancel_requested(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.handle(order_id).cancel(reason="pressed in the Web UI")


async def cancel_refused(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.to_published(order_id)
    await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)
    await stack.handle(order_id).cancel()
    await env.sleep(31 * DAY)


async def _until(
    stack: Stack, order_id: str, what: str, holds: Callable[[OrderView], bool]
) -> None:
    async def reached() -> bool:
        return holds(await stack.view(order_id))

    await eventually(reached, what)


async def overdue_cancelled(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await env.sleep(3 * DAY + HOUR)  # reminded a day before, then overdue
    await _until(stack, order_id, "overdue", lambda v: v.overdue)
    await env.sleep(7 * DAY)  # the grace passes: cancelled, refunded


async def overdue_cancelled_by_client(
    stack: Stack, env: WorkflowEnvironment, order_id: str
) -> None:
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    due = (await stack.view(order_id)).deadlines[0].due_at
    await stack.act(
        order_id, Action.REQUEST_EXTENSION, CREATOR, due_at=due + DAY, reason="more footage"
    )
    await env.sleep(3 * DAY + HOUR)  # the request lapses, the script is overdue
    await _until(stack, order_id, "overdue", lambda v: v.overdue)
    await stack.act(order_id, Action.CANCEL_OVERDUE, CLIENT, reason="too late")


async def silent_client(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    """Escalated review, then every client deadline passes: confirmed, published, accepted."""
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")
    await env.sleep(DAY + HOUR)
    await _until(stack, order_id, "escalated", lambda v: v.escalated)
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    await env.sleep(3 * DAY + HOUR)
    await _until(stack, order_id, "script confirmed", lambda v: v.status.value == "video_pending")
    await stack.act(order_id, Action.SUBMIT_VIDEO, CREATOR, video_id="v-silent")
    await stack.act(order_id, Action.REVIEW_VIDEO, REVIEWER, approve=True)
    await env.sleep(3 * DAY + HOUR)
    await _until(stack, order_id, "video confirmed", lambda v: v.status.value == "awaiting_publish")
    await env.sleep(3 * DAY + HOUR)
    await _until(stack, order_id, "published", lambda v: v.status.value == "published")
    await env.sleep(8 * DAY)
    await _until(stack, order_id, "accepted", lambda v: v.status.value == "in_retention")
    await env.sleep(31 * DAY)


async def extension_granted(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    due = (await stack.view(order_id)).deadlines[0].due_at
    await stack.act(
        order_id, Action.REQUEST_EXTENSION, CREATOR, due_at=due + DAY, reason="the actor is ill"
    )
    await stack.act(order_id, Action.ANSWER_EXTENSION, CLIENT, grant=True)
    await stack.act(order_id, Action.MOVE_DEADLINE, OPS, due_at=due + 2 * DAY, reason="holiday")
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")
    await stack.act(order_id, Action.REVIEW_SCRIPT, REVIEWER, approve=True)
    await stack.act(order_id, Action.CONFIRM_SCRIPT, CLIENT)
    await env.sleep(7 * DAY + HOUR)
    await _until(stack, order_id, "overdue", lambda v: v.overdue)
    await env.sleep(7 * DAY)


async def cancelled_by_agreement(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    """X1, X4: the client proposes a split, the creator agrees; the escrow is divided."""
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.act(
        order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=33_333, reason="campaign cut"
    )
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")  # it outlives a status
    await stack.act(order_id, Action.ANSWER_CANCELLATION, CREATOR, agree=True)


async def proposals_then_ops_cancel(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    """X1, P2: a proposal lapses (reminded first), another is refused, then ops cancel."""
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CREATOR, refund_fen=10, reason="busy")
    await env.sleep(48 * HOUR + HOUR)
    await _until(stack, order_id, "lapsed", lambda v: v.proposal is None)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=0, reason="stop")
    await stack.act(order_id, Action.ANSWER_CANCELLATION, CREATOR, agree=False, reason="no")
    await stack.act(order_id, Action.OPS_CANCEL, OPS, reason="fraud report")


async def dispute_continued(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    """X3, D5: a dispute pauses the deadlines, is escalated after 3 d, and ops let the order
    continue with a new date, which then passes: overdue, grace, cancelled."""
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.act(order_id, Action.PROPOSE_CANCELLATION, CLIENT, refund_fen=5, reason="stop")
    await stack.act(order_id, Action.OPEN_DISPUTE, CREATOR, reason="the brief changed")
    await env.sleep(3 * DAY + HOUR)
    await _until(stack, order_id, "escalated", lambda v: v.escalated)
    due = (await stack.view(order_id)).placed_at + 6 * DAY
    await stack.act(
        order_id, Action.RESOLVE_DISPUTE, OPS, resolution="continue", reason="go on", due_at=due
    )
    await env.sleep(3 * DAY)
    await _until(stack, order_id, "overdue", lambda v: v.overdue)
    await env.sleep(7 * DAY + HOUR)


async def dispute_split(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    """X3, X4: ops resolve a dispute by cancelling with a partial refund."""
    await stack.act(order_id, Action.ACCEPT, CREATOR)
    await stack.act(order_id, Action.SUBMIT_SCRIPT, CREATOR, text="v1")
    await stack.act(order_id, Action.OPEN_DISPUTE, CLIENT, reason="not the brief")
    await stack.act(
        order_id,
        Action.RESOLVE_DISPUTE,
        OPS,
        resolution="cancel",
        refund_fen=33_333,
        reason="half done",
    )


async def dispute_accepted(stack: Stack, env: WorkflowEnvironment, order_id: str) -> None:
    """X3: ops resolve a dispute by accepting the delivery; retention follows as usual."""
    await stack.to_published(order_id)
    await stack.act(order_id, Action.OPEN_DISPUTE, CREATOR, reason="the client does not accept")
    await env.sleep(DAY / 2)  # between two daily video checks
    await stack.act(
        order_id, Action.RESOLVE_DISPUTE, OPS, resolution="accept_delivery", reason="as briefed"
    )
    await env.sleep(31 * DAY)


PATHS: dict[str, Path_] = {
    "accepted": accepted,
    "auto_accepted_after_republish": auto_accepted,
    "republication_rejected": republication_rejected,
    "auto_cancelled": auto_cancelled,
    "declined": declined,
    "rejected_loops": rejected_loops,
    "retention_violation": retention_violation,
    "refused": refused,
    "cancel_requested": cancel_requested,
    "cancel_refused": cancel_refused,
    "overdue_cancelled": overdue_cancelled,
    "overdue_cancelled_by_client": overdue_cancelled_by_client,
    "silent_client": silent_client,
    "extension_granted": extension_granted,
    "cancelled_by_agreement": cancelled_by_agreement,
    "proposals_then_ops_cancel": proposals_then_ops_cancel,
    "dispute_continued": dispute_continued,
    "dispute_split": dispute_split,
    "dispute_accepted": dispute_accepted,
}


async def record(client: Client, env: WorkflowEnvironment, workdir: Path, only: set[str]) -> None:
    for name, drive in PATHS.items():
        if only and name not in only:
            continue
        url = f"sqlite:///{workdir / name}.db"
        upgrade(url)
        async with running_stack(client, make_engine(url)) as stack:
            if drive is refused:
                set_quote(stack.engine, CREATOR.id, MAX_PAYMENT_FEN)  # more than the client has
            order_id = f"history-{name}"
            with contextlib.suppress(OrderError):  # the refused order raises, as intended
                await stack.place(order_id=order_id)
            await drive(stack, env, order_id)
            await save(stack.handle(order_id), f"order_{name}")
    if not only or only & {"withdrawal"}:
        await record_withdrawal(client, workdir)


async def record_withdrawal(client: Client, workdir: Path) -> None:
    url = f"sqlite:///{workdir / 'withdrawal'}.db"
    upgrade(url)
    engine = make_engine(url)
    async with running_stack(client, engine) as stack:
        # Earnings set up straight in the ledger: the order paths above record how they arise.
        ledger.transfer(engine, "history-earnings", "release", [
            Leg(ledger.EXTERNAL, -5_000), Leg(ledger.creator_account(CREATOR.id), 5_000)
        ])  # fmt: skip
        for name, bank in (("paid", "6222020200112233445"), ("returned", "0000111122223333")):
            request = WithdrawalInput(
                withdrawal_id=f"history-{name}",
                user_id=CREATOR.id,
                account_id=ledger.creator_account(CREATOR.id),
                amount_fen=1_000,
                bank_account=bank,
            )
            start_withdrawal(engine, request.withdrawal_id, CREATOR.id, 1_000, bank)
            await withdraw(client, stack.task_queue, request, timedelta(seconds=30))
            handle = client.get_workflow_handle(f"withdrawal-{request.withdrawal_id}")
            await save(handle, f"withdrawal_{name}")


async def save(handle: WorkflowHandle[Any, Any], name: str) -> None:
    await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())
    print(f"{name}: {len(history.events)} events")


async def main(only: set[str]) -> None:
    unknown = only - {*PATHS, "withdrawal"}
    if unknown:
        raise SystemExit(f"no such path: {', '.join(sorted(unknown))}")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=temporal_test_server()
    )
    try:
        await register_search_attributes(env.client)
        HISTORIES.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory() as workdir:
            await record(env.client, env, Path(workdir), only)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(set(sys.argv[1:])))
