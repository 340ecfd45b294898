"""`make books`: every account's balance, the ledger's invariants, and the latest order's
timeline, read from the app database."""

from __future__ import annotations

from sqlalchemy import select

from config import get_settings
from db import orders as projection
from db.engine import make_engine, reading
from db.ledger import check_invariants
from db.schema import accounts, orders


def main() -> None:
    engine = make_engine(get_settings().database_url)
    with reading(engine) as conn:
        rows = conn.execute(select(accounts.c.id, accounts.c.balance).order_by(accounts.c.id))
        print("account                                   balance (fen)")
        for account_id, balance in rows:
            print(f"{account_id:<40} {balance:>14,}")
        latest = conn.execute(
            select(orders.c.id, orders.c.status).order_by(orders.c.created_at.desc()).limit(1)
        ).first()
    problems = check_invariants(engine)
    print("invariants: " + ("all hold" if not problems else "; ".join(problems)))
    if latest is None:
        return
    print(f"\norder {latest.id} ({latest.status}):")
    for e in projection.timeline(engine, latest.id):
        reason = f"  ({e.reason})" if e.reason else ""
        print(
            f"  {e.seq:>2} {e.at:%H:%M:%S} {e.actor_role:<8} {e.action:<16} → {e.to_status}{reason}"
        )


if __name__ == "__main__":
    main()
