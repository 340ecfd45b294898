"""Admin commands. Reviewer and ops accounts can only be made here, never through the API.

python -m scripts.admin create-user --role ops --username alice --password-file pw.txt
python -m scripts.admin create-user --role reviewer --username bob --password-file - <pw
python -m scripts.admin stranded-orders            # orders whose workflow stopped unsettled
python -m scripts.admin stranded-orders --settle   # refund each in full, once
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine
from temporalio.client import Client

from bootstrap import connect_temporal
from config import get_settings
from db.engine import make_engine
from db.migrate import upgrade
from services import auth, stranded
from services.usernames import InvalidUsername
from workflows.messages import Role

MIN_PASSWORD = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.admin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create an account of any role")
    create.add_argument(
        "--role", required=True, choices=[r.value for r in Role if r is not Role.SYSTEM]
    )
    create.add_argument("--username", required=True)
    create.add_argument("--display-name")
    create.add_argument(
        "--password-file", required=True, help="file holding the password, or - for stdin"
    )
    strand = commands.add_parser(
        "stranded-orders",
        help="list orders whose workflow stopped (terminated, failed, ...) with money unsettled",
    )
    strand.add_argument(
        "--settle", action="store_true", help="refund each in full and record it cancelled by ops"
    )
    args = parser.parse_args(argv)
    if args.command == "stranded-orders":
        return asyncio.run(_stranded_orders(args.settle))

    if args.password_file == "-":
        password = sys.stdin.readline().rstrip("\n")
    else:
        lines = Path(args.password_file).read_text().splitlines()
        password = lines[0] if lines else ""
    if len(password) < MIN_PASSWORD:
        parser.error(f"the password needs at least {MIN_PASSWORD} characters")

    settings = get_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        user = auth.sign_up(
            engine, args.username, password, Role(args.role), args.display_name or args.username
        )
    except InvalidUsername as e:
        print(e, file=sys.stderr)
        return 1
    except auth.UsernameTaken as e:
        print(f"the username {e.username!r} is taken", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"created {user.role} {user.username} with id {user.id}")
    return 0


async def _stranded_orders(settle: bool) -> int:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        await stranded_orders(await connect_temporal(settings), engine, settle, sys.stdout)
    finally:
        engine.dispose()
    return 0


async def stranded_orders(client: Client, engine: Engine, settle: bool, out: TextIO) -> int:
    """List (and with `settle`, settle) the stranded orders; the fen moved out of escrow."""
    found = await stranded.find_stranded(client, engine)
    refunded = 0
    for order in found:
        line = (
            f"order {order.order_id}: workflow {order.workflow}, "
            f"status {order.status or 'not recorded'}, {order.escrow_fen} fen in escrow"
        )
        if settle:
            moved = await stranded.settle(client, engine, order)
            refunded += moved
            line += f"; settled, {moved} fen moved"
        print(line, file=out)
    summary = f"{len(found)} stranded order(s)"
    print(f"{summary}, {refunded} fen moved out of escrow" if settle else summary, file=out)
    return refunded


if __name__ == "__main__":
    sys.exit(main())
