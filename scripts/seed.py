"""Demo data: a client with money, creators to order (one of them in an MCN), a reviewer, ops.

Idempotent, so `make run` can seed on every start."""

from __future__ import annotations

from sqlalchemy import Engine

from services.auth import set_password
from services.users import create_user, set_creator_profile
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
    set_creator_profile(engine, DEMO_CREATOR, DEMO_QUOTE_FEN)
    set_creator_profile(engine, DEMO_MCN_CREATOR, 1_200_000, mcn_id=DEMO_MCN)
    # A fixed key: the demo client is topped up once, however often the stack restarts.
    top_up(engine, DEMO_CLIENT, DEMO_TOP_UP_FEN, key=f"demo-seed-{DEMO_CLIENT}")
