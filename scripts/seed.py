"""Demo data: a client with money, creators to order (one of them in an MCN), a reviewer, ops.

Idempotent, so `make run` can seed on every start."""

from __future__ import annotations

from sqlalchemy import Engine

from adapters.video_platform import (
    AccountMetrics,
    AccountOwner,
    LoginPlatform,
    SimulatedVideoPlatform,
)
from bootstrap import simulated_adapters
from services import creators, mcn
from services.auth import set_password
from services.creators import Thresholds
from services.users import create_user
from services.wallets import top_up
from workflows.messages import Role

DEMO_CLIENT = "demo-client"
DEMO_CREATOR = "demo-creator"
DEMO_MCN_CREATOR = "demo-mcn-creator"
DEMO_MCN = "demo-mcn"
DEMO_REVIEWER = "demo-reviewer"
DEMO_OPS = "demo-ops"
# Every demo account logs in with its id as username and this password.
DEMO_PASSWORD = "xigua-demo-2026"
DEMO_QUOTE_FEN = 880_000  # 8,800 yuan for one customised video
DEMO_TOP_UP_FEN = 10_000_000  # 100,000 yuan


def seed_demo(engine: Engine) -> None:
    create_user(engine, DEMO_CLIENT, Role.CLIENT, "Pearl River Foods (demo client)")
    create_user(engine, DEMO_CREATOR, Role.CREATOR, "Xiao Li cooks (demo creator)")
    create_user(engine, DEMO_MCN, Role.MCN, "Bright Star MCN (demo)")
    create_user(engine, DEMO_MCN_CREATOR, Role.CREATOR, "Chef Wang (demo MCN creator)")
    create_user(engine, DEMO_REVIEWER, Role.REVIEWER, "Platform reviewer (demo)")
    create_user(engine, DEMO_OPS, Role.OPS, "Platform ops (demo)")
    for user_id in (DEMO_CLIENT, DEMO_CREATOR, DEMO_MCN, DEMO_MCN_CREATOR, DEMO_REVIEWER, DEMO_OPS):
        set_password(engine, user_id, user_id, DEMO_PASSWORD)
    # Where the relay delivers their notifications (N1): texts through the simulated provider,
    # e-mail through the local mail server `make run` starts. Ops and reviewers get e-mail.
    creators.set_contact(engine, DEMO_CLIENT, "13700137000", f"{DEMO_CLIENT}@example.com")
    for staff in (DEMO_REVIEWER, DEMO_OPS):
        creators.set_contact(engine, staff, "13600136000", f"{staff}@example.com")
    platform = SimulatedVideoPlatform(engine)
    onboard(engine, platform, DEMO_CREATOR, DEMO_QUOTE_FEN, category="food")
    onboard(engine, platform, DEMO_MCN_CREATOR, 1_200_000, mcn_id=DEMO_MCN, category="food")
    # A fixed key: the demo client is topped up once, however often the stack restarts.
    top_up(
        engine,
        simulated_adapters(engine).payments,
        DEMO_CLIENT,
        DEMO_TOP_UP_FEN,
        f"demo-seed-{DEMO_CLIENT}",
    )


ELIGIBLE = AccountMetrics(
    fans_toutiao=52_000,
    fans_xigua=31_000,
    unhealthy=False,
    original=True,
    category="food",
    recent_plays=[4_800] * 20,
)


def onboard(
    engine: Engine,
    platform: SimulatedVideoPlatform,
    creator_id: str,
    quote_fen: int,
    *,
    mcn_id: str | None = None,
    accepting: bool = True,
    category: str = "food",
    metrics: AccountMetrics = ELIGIBLE,
) -> None:
    """Take a creator through every onboarding step a real one takes (C1-C7), with an
    eligible account on the simulated platform. Idempotent."""
    account, login = f"xg-{creator_id}", f"dy-{creator_id}"
    owner = AccountOwner(login_platform=LoginPlatform.DOUYIN, login_account=login)
    platform.set_account(account, metrics.model_copy(update={"category": category}), owner)
    creators.bind_xigua_account(engine, platform, creator_id, LoginPlatform.DOUYIN, login, account)
    application = creators.apply_for_task(engine, platform, creator_id, Thresholds())
    assert application.approved, application.unmet
    creators.set_quote(engine, creator_id, quote_fen)
    creators.set_contact(engine, creator_id, "13800138000", f"{creator_id}@example.com")
    join_mcn(engine, creator_id, mcn_id)
    creators.set_accepting(engine, creator_id, accepting)


def join_mcn(engine: Engine, creator_id: str, mcn_id: str | None) -> None:
    """Make the creator a member of `mcn_id` (None: independent) the way real ones become one:
    the creator asks and the MCN accepts. Idempotent."""
    current = creators.profile(engine, creator_id).mcn_id
    if current == mcn_id:
        return
    if current is not None:
        mcn.leave(engine, creator_id)
    if mcn_id is not None:
        request = mcn.ask_to_join(engine, creator_id, mcn_id)
        mcn.answer(engine, mcn_id, request.id, accept=True)
