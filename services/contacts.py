"""Virtual numbers (rules C4, O3): after acceptance each side of an order gets a number that
forwards to the other side's real phone; neither ever sees the other's real number."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from adapters.telephony import Telephony
from db.schema import virtual_numbers
from db.sql import insert_ignore
from workflows.messages import OrderStatus

# Before acceptance there is nothing to clarify; a cancelled or refused order has no sides.
NO_CONTACT = frozenset(
    {
        OrderStatus.PLACING,
        OrderStatus.REFUSED,
        OrderStatus.AWAITING_ACCEPTANCE,
        OrderStatus.CANCELLED,
    }
)
ATTEMPTS = 5


class NoContactYet(Exception):
    pass


def virtual_number(
    engine: Engine,
    numbers: Telephony,
    order_id: str,
    status: OrderStatus,
    holder_id: str,
    other_id: str,
) -> str:
    """The number `holder_id` calls to reach `other_id` about this order; the same one every
    time. Raises NoContactYet before acceptance."""
    if status in NO_CONTACT:
        raise NoContactYet(
            f"virtual numbers are given once the creator accepts; the order is {status}"
        )
    key = (virtual_numbers.c.order_id == order_id) & (virtual_numbers.c.holder_id == holder_id)
    for _ in range(ATTEMPTS):
        try:
            with engine.begin() as conn:
                insert_ignore(
                    conn,
                    virtual_numbers,
                    {
                        "order_id": order_id,
                        "holder_id": holder_id,
                        "number": numbers.new_number(),
                        "forwards_to": other_id,
                        "created_at": datetime.now(UTC),
                    },
                )
                number = conn.execute(select(virtual_numbers.c.number).where(key)).scalar_one()
            return str(number)
        except IntegrityError:
            continue  # the provider handed out a number in use: ask for another
    raise RuntimeError("could not allocate a virtual number")
